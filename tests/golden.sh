#!/bin/sh
# golden.sh: every shipped map's golden cases (maps/tests/<map-id>/) through
# `edigate map test`, which prints TAP-style ok/not ok lines and ends with
# "N passed, N failed".
out=$("$EDIGATE" map test "${top_srcdir:-.}/maps")
rc=$?
n=$(printf '%s\n' "$out" | grep -c '^\(not \)\?ok ')
i=0
printf '%s\n' "$out" | while IFS= read -r line; do
	case "$line" in
	"ok "*|"not ok "*)
		i=$((i + 1))
		printf '%s\n' "$line" | sed "s/^\(not \)\?ok -/\1ok $i -/"
		;;
	*) printf '# %s\n' "$line" ;;
	esac
done
summary=$(printf '%s\n' "$out" | tail -n 1)
n=$((n + 1))
case "$summary" in
*" passed, 0 failed") [ $rc -eq 0 ] && echo "ok $n - map test: $summary" || echo "not ok $n - map test exit $rc" ;;
*) echo "not ok $n - map test: $summary (exit $rc)" ;;
esac
echo "1..$n"
