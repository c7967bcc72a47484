#!/bin/sh
# corpus_edifact.sh: the EDIFACT files of the shared corpus against EXPECT.tsv.
exec python3 "${top_srcdir:-.}/tests/corpus.py" edifact
