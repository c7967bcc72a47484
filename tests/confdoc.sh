#!/bin/sh
# confdoc.sh: every key of the configuration tables in src/conf.c (the
# `{ "section", "key",` lines of gateway_keys and partner_keys) must be
# documented in docs/edigate.ini.5: under its section's .Ss [section]
# heading, as an `.It Cm key` item.  TAP.
top="${top_srcdir:-.}"
src="$top/src/conf.c"
doc="$top/docs/edigate.ini.5"
n=0
fail=0
if [ ! -r "$src" ] || [ ! -r "$doc" ]; then
	echo "1..1"
	echo "not ok 1 - $src and $doc are readable"
	exit 1
fi

pairs=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9_]*\)", "\([a-z0-9_]*\)",.*/\1 \2/p' \
    "$src")
# The keys each section of the page documents: "section key" lines.
documented=$(awk '
	/^\.Ss \[[a-z0-9_]+\]/ { sec = $2; gsub(/[][]/, "", sec); next }
	/^\.S[hs] / { sec = ""; next }
	sec != "" && /^\.It Cm [a-z0-9_]+/ { print sec, $3 }' "$doc")

echo "$pairs" | {
	while read -r sec key; do
		[ -n "$sec" ] || continue
		n=$((n + 1))
		if printf '%s\n' "$documented" | grep -qx "$sec $key"; then
			echo "ok $n - [$sec] $key is in docs/edigate.ini.5"
		else
			echo "not ok $n - [$sec] $key is in docs/edigate.ini.5"
			fail=1
		fi
	done
	n=$((n + 1))
	if [ "$n" -gt 30 ]; then
		echo "ok $n - found $((n - 1)) keys in src/conf.c"
	else
		echo "not ok $n - found only $((n - 1)) keys in src/conf.c"
		fail=1
	fi
	echo "1..$n"
	exit $fail
}
