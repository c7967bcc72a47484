#!/bin/sh
# etc/demo/run.sh: the gateway on its demo configuration, end to end.
# Starts a local ERP receiver (tests/erp_receiver.py) on a free port and
# `edigate serve` on etc/demo/edigate.ini, drops the demo documents into
# the partners' inboxes, and prints the events the receiver got and the
# 997s written to the outboxes.  Both processes are stopped by pid.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
edigate=${EDIGATE:-$top/edigate}
work=$here/work
rm -rf "$work" "$here/state"
mkdir -p "$work/acme-retail/in" "$work/bolt-supply/in" \
    "$work/acme-retail/out" "$work/bolt-supply/out"

python3 "$top/tests/erp_receiver.py" --log "$work/erp.jsonl" \
    --port-file "$work/erp.port" >/dev/null &
erp=$!
serve=
cleanup() {
	[ -n "$serve" ] && kill "$serve" 2>/dev/null && wait "$serve" || :
	kill "$erp" 2>/dev/null && wait "$erp" || :
}
trap cleanup EXIT INT TERM
i=0
while [ ! -s "$work/erp.port" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "receiver did not start" >&2; exit 69; }
	sleep 0.1
done
port=$(cat "$work/erp.port")

EDIGATE_MAPS=${EDIGATE_MAPS:-$top/maps} "$edigate" serve -c "$here/edigate.ini" \
    -o "erp.url=http://127.0.0.1:$port/import" 2>"$work/serve.log" &
serve=$!
sleep 0.5
cp "$here/acme-850.edi" "$work/acme-retail/in/"
cp "$here/bolt-856.edi" "$work/bolt-supply/in/"
echo "dropped acme-850.edi and bolt-856.edi; waiting for the ERP receiver..."
i=0
while [ "$(wc -l <"$work/erp.jsonl" 2>/dev/null || echo 0)" -lt 2 ]; do
	i=$((i + 1)); [ $i -gt 150 ] && { echo "no events after 15 s; log:" >&2; cat "$work/serve.log" >&2; exit 70; }
	sleep 0.1
done
echo "--- events received by the ERP (type, subject, Idempotency-Key):"
python3 - "$work/erp.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    ev = json.loads(r["body"])
    key = dict((k.lower(), v) for k, v in r["headers"]).get("idempotency-key")
    print(f'{r["status"]} {ev["type"]:<18} {ev["subject"]:<12} {key}')
PY
sleep 0.5
echo "--- functional acknowledgements written to the outboxes:"
for f in "$work"/*/out/*; do [ -f "$f" ] && { echo "$f:"; cat "$f"; echo; }; done
echo "--- daemon log:"
cat "$work/serve.log"
