#!/bin/sh
# run.sh: run each fuzz harness for a bounded time over its seeds.
# Seeds are read in place (the shared corpus, the golden inputs, the shipped
# maps); new inputs go to a scratch folder, which is always the first
# corpus argument so that libFuzzer never writes into the seed folders.
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$top}
shared=${EDIGATE_SHARED:-$top/../shared}
secs=${FUZZ_SECONDS:-60}
[ -n "$secs" ] || secs=60
export EDIGATE_MAPS=${EDIGATE_MAPS:-$top/maps}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

edi_seeds="$shared/corpus/public/x12 $top/etc/demo \
	$(find "$top/maps/tests" -mindepth 1 -maxdepth 1 -type d -name 'x12-*' | tr '\n' ' ')"
edifact_seeds="$shared/corpus/public/edifact $top/tests/data/edifact \
	$(find "$top/maps/tests" -mindepth 1 -maxdepth 1 -type d -name 'edifact-*' | tr '\n' ' ')"
xml_seeds="$shared/corpus/public/cxml $shared/corpus/public/xml"
map_seeds="$top/maps/x12 $top/maps/edifact $top/maps/cxml $top/maps/ubl $top/tests/data/map"

run() {
	name=$1 dict=$2
	shift 2
	mkdir -p "$work/$name"
	echo "== $name: ${secs}s"
	"$build/tests/fuzz/$name" -max_total_time="$secs" -max_len=65536 \
		-timeout=10 -rss_limit_mb=2048 -dict="$top/tests/fuzz/$dict" \
		-print_final_stats=1 "$work/$name" "$@"
}

run fuzz_x12 x12.dict $edi_seeds
run fuzz_edifact edifact.dict $edifact_seeds
run fuzz_xml xml.dict $xml_seeds
run fuzz_map_eval x12.dict $edi_seeds $edifact_seeds $xml_seeds
run fuzz_map_compile map.dict $map_seeds
