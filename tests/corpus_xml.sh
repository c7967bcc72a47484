#!/bin/sh
# corpus_xml.sh: the cXML and UBL files of the shared corpus against EXPECT.tsv.
exec python3 "${top_srcdir:-.}/tests/corpus.py" cxml xml
