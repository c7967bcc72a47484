#!/bin/sh
# run.sh: run each fuzz harness for a bounded time over its seeds.
# Seeds: the shared corpus and the golden inputs (read in place, never
# copied into the project); new inputs go to a scratch folder.
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$top}
shared=${EDIGATE_SHARED:-$top/../shared}
secs=${FUZZ_SECONDS:-60}
export EDIGATE_MAPS=${EDIGATE_MAPS:-$top/maps}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/x12"
"$build/tests/fuzz/fuzz_x12" -max_total_time="$secs" -max_len=65536 \
	-dict="$top/tests/fuzz/x12.dict" -print_final_stats=1 \
	"$work/x12" "$shared/corpus/public/x12" "$top/etc/demo" \
	$(find "$top/maps/tests" -mindepth 1 -maxdepth 1 -type d)
for h in fuzz_map_compile fuzz_map_eval; do
	[ -x "$build/tests/fuzz/$h" ] || continue
	mkdir -p "$work/$h"
	"$build/tests/fuzz/$h" -max_total_time="$secs" -max_len=65536 \
		-print_final_stats=1 "$work/$h" "$top/tests/fuzz/seeds/$h"
done
