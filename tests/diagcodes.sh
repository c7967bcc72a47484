#!/bin/sh
# diagcodes.sh: every diagnostic code used in translators/*.c and src/*.c
# (the quoted literals such as "X12-SE-COUNT" or "MAP-REQ" handed to
# diag_init and the diagnostic tables) must be catalogued, in backquotes,
# in docs/diagnostics.md.  TAP.
top="${top_srcdir:-.}"
doc="$top/docs/diagnostics.md"
# Quoted literals that look like codes but are not (none yet).
not_codes=""

codes=$(cat "$top"/translators/*.c "$top"/src/*.c |
    grep -oE '"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+"' | tr -d '"' | sort -u)
n=0
fail=0
if [ ! -r "$doc" ]; then
	echo "1..1"
	echo "not ok 1 - $doc is readable"
	exit 1
fi
for c in $codes; do
	case " $not_codes " in
	*" $c "*) continue ;;
	esac
	n=$((n + 1))
	if grep -qF "\`$c\`" "$doc"; then
		echo "ok $n - $c is in docs/diagnostics.md"
	else
		echo "not ok $n - $c is in docs/diagnostics.md"
		fail=1
	fi
done
n=$((n + 1))
if [ "$n" -gt 40 ]; then
	echo "ok $n - found $((n - 1)) codes in the sources"
else
	echo "not ok $n - found only $((n - 1)) codes in the sources"
	fail=1
fi
echo "1..$n"
exit $fail
