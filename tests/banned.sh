#!/bin/sh
# banned.sh: no banned C functions in the tree (STYLE.md §14).
cd "${top_srcdir:-.}" || exit 1
echo "1..1"
hits=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll)[[:space:]]*\(' \
	src/*.c src/*.h translators/*.c translators/*.h tests/*.c \
	tests/bench/*.c tests/fuzz/*.c 2>/dev/null)
if [ -n "$hits" ]; then
	echo "not ok 1 - banned functions used"
	echo "$hits" | sed 's/^/# /'
	exit 1
fi
echo "ok 1 - no strcpy/strcat/sprintf/gets/atoi/atol"
