#!/bin/sh
# corpus_x12.sh: the X12 files of the shared corpus against EXPECT.tsv.
exec python3 "${top_srcdir:-.}/tests/corpus.py" x12
