#!/usr/bin/env python3
"""ops.py: the operator CLI against a real store (TAP).

tests/store_fixture writes a store through the store API (documents in
every state, events, forward jobs pending/dead/held, acknowledgement
expectations pending/overdue/rejected/accepted) and prints its ids; every
command is then run on it, human and --json, and the actions (replay,
hold, release) are checked through `jobs --json`.  Read-only commands must
work while another process holds a write transaction or the store open.

Ambiguous id prefixes are usage errors: exit 64 with "ambiguous".
"""
import json
import os
import re
import subprocess
import sys
import tempfile

edigate = os.environ.get("EDIGATE", "./edigate")
fixture = os.environ.get("STORE_FIXTURE", "./tests/store_fixture")

n = 0
failed = 0
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def ok(cond, name, *info):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, name))
    if not cond:
        for i in info:
            for l in str(i).splitlines()[:25]:
                print("#   " + l)
    return cond


def run(*args, timeout=120):
    try:
        p = subprocess.run([edigate] + list(args), capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return (-1, "", "timed out")
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def runj(*args):
    rc, out, err = run(*(list(args) + ["--json"]))
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err + "\nstdout: " + out[:2000]


def common(a, b):
    return os.path.commonprefix([a, b])


if not os.access(fixture, os.X_OK):
    print("1..0 # SKIP no store_fixture at %s" % fixture)
    sys.exit(0)

tmp = tempfile.TemporaryDirectory()
d = tmp.name
os.mkdir(os.path.join(d, "partners.d"))
conf = os.path.join(d, "edigate.ini")
with open(conf, "w") as f:
    f.write("[gateway]\nstate_dir = %s\npartners_dir = partners.d\n"
            "[store]\nmap_size = 64M\n" % d)
with open(os.path.join(d, "partners.d", "acme-retail.ini"), "w") as f:
    f.write('[partner]\nname = "ACME Retail Inc."\nx12_id = ZZ:ACMERETAIL\n'
            "ack = 997\n")
with open(os.path.join(d, "partners.d", "bolt-supply.ini"), "w") as f:
    f.write('[partner]\nname = "Bolt Supply"\nedifact_id = "5012345678900:14"\n'
            "ack = none\n")

# no store yet: every command says so (66), nothing is created
for cmd in (["status"], ["docs"], ["jobs"], ["replay", "0190"]):
    rc, out, err = run(*(cmd + ["-c", conf]))
    ok(rc == 66 and "no store" in err, "%s without a store: exit 66"
       % cmd[0], rc, err)
ok(not os.path.exists(os.path.join(d, "store")), "  and none was created")

p = subprocess.run([fixture, "populate", d], capture_output=True)
ok(p.returncode == 0, "fixture populates a store", p.stderr.decode())
if p.returncode != 0:
    print("1..%d" % n)
    sys.exit(1)
ids = json.loads(p.stdout)
D, E, J = ids["docs"], ids["events"], ids["jobs"]
C = ["-c", conf]

# usage
for cmd in ("status", "partners", "docs", "show", "events", "acks", "jobs",
            "dlq", "replay", "hold", "release"):
    rc, out, err = run(cmd, "--help")
    ok(rc == 0 and out.startswith("usage: edigate " + cmd),
       "%s --help: exit 0" % cmd, rc, out, err)
rc, out, err = run("docs", "--bogus")
ok(rc == 64, "docs --bogus: exit 64", rc, err)
rc, out, err = run("status", "--raw", *C)
ok(rc == 64, "status refuses an option of show: exit 64", rc, err)
rc, out, err = run("docs", "--state", "lost", *C)
ok(rc == 64 and "translated" in err, "docs --state lost: 64, names the states",
   rc, err)
rc, out, err = run("acks", "--kind", "fax", *C)
ok(rc == 64 and "po_ack" in err, "acks --kind fax: 64, names the kinds",
   rc, err)
rc, out, err = run("docs", "--limit", "x", *C)
ok(rc == 64, "docs --limit x: 64", rc, err)
rc, out, err = run("show", *C)
ok(rc == 64 and "usage" in err, "show without an id: 64", rc, err)
rc, out, err = run("status", "-c", os.path.join(d, "missing.ini"))
ok(rc == 78, "status with a missing configuration: 78", rc, err)

# status
rc, st, err = runj("status", *C)
ok(rc == 0 and st is not None, "status --json: exit 0", rc, err)
if st:
    ok(st["store"] == os.path.join(d, "store") and st["map_size"] >= 64 << 20
       and 0 < st["used"] <= st["map_size"], "status: store path and sizes",
       json.dumps(st)[:500])
    ok(st["entries"]["docs"] == 6 and st["entries"]["events"] == 4
       and st["entries"]["jobs"] == 3 and st["entries"]["acks"] == 5,
       "status: entries per database", st["entries"])
    ok(st["documents"] == {"received": 1, "translated": 2, "rejected": 1,
                           "duplicate": 1, "quarantined": 1,
                           "unreadable": 0},
       "status: documents by state", st["documents"])
    fw = st["jobs"]["forward"]
    ok(fw["pending"] == 1 and fw["dead"] == 1 and fw["held"] == 1
       and fw["inflight"] == 0 and ISO.match(fw["oldest_pending"] or "")
       and fw["oldest_pending_age_s"] >= 0,
       "status: forward jobs by state, oldest pending", fw)
    ok(st["acks"]["po_ack"]["overdue"] == 1
       and st["acks"]["erp"] == {"pending": 1, "overdue": 1, "rejected": 0,
                                 "accepted": 0}
       and st["acks"]["functional"]["rejected"] == 1
       and st["acks"]["mdn"]["accepted"] == 1,
       "status: acknowledgements by kind (pending past due is overdue)",
       st["acks"])
rc, out, err = run("status", *C)
ok(rc == 0 and os.path.join(d, "store") in out
   and re.search(r"received 1, translated 2, rejected 1, duplicate 1, "
                 r"quarantined 1", out)
   and re.search(r"^forward\s+1\s+0\s+1\s+1\s+0\s+\d{4}-", out, re.M)
   and re.search(r"^erp\s+1\s+1\s+0\s+0", out, re.M),
   "status: human summary and tables", rc, out, err)

# partners
rc, ps, err = runj("partners", *C)
ok(rc == 0 and ps is not None and [x["id"] for x in ps] ==
   ["acme-retail", "bolt-supply", "ghost"],
   "partners --json: configured first, then the unknown sender", rc, ps, err)
if ps and len(ps) == 3:
    a, b, g = ps
    ok(a["name"] == "ACME Retail Inc." and a["x12_id"] == "ZZ:ACMERETAIL"
       and a["ack"] == "997" and a["configured"] is True
       and a["documents"]["total"] == 3 and a["documents"]["translated"] == 1
       and a["documents"]["duplicate"] == 1
       and a["documents"]["received"] == 1
       and ISO.match(a["last_received"])
       and a["acks"] == {"pending": 1, "overdue": 2, "rejected": 0},
       "partners: acme-retail counts", a)
    ok(b["edifact_id"] == "5012345678900:14" and b["x12_id"] is None
       and b["documents"]["rejected"] == 1
       and b["documents"]["translated"] == 1
       and b["acks"]["rejected"] == 1, "partners: bolt-supply counts", b)
    ok(g["configured"] is False and g["documents"]["quarantined"] == 1,
       "partners: ghost is not configured, one quarantined", g)
rc, out, err = run("partners", *C)
lines = out.splitlines()
ok(rc == 0 and lines[0].startswith("PARTNER") and
   re.match(r"^acme-retail\s+ACME Retail Inc\.\s+ZZ:ACMERETAIL\s+-\s+997\s+3\s",
            lines[1]) and "(not configured)" in lines[3],
   "partners: human table", rc, out, err)

# docs
rc, ds, err = runj("docs", *C)
ok(rc == 0 and [x["id"] for x in ds] ==
   [D["received"], D["shipment"], D["duplicate"], D["translated"],
    D["rejected"], D["quarantined"]], "docs --json: newest first", rc, ds, err)
if ds:
    r = [x for x in ds if x["id"] == D["rejected"]][0]
    ok(r["state"] == "rejected" and r["partner"] == "bolt-supply"
       and r["icn"] == "000000777" and r["doctype"] == "856"
       and r["syntax"] == "x12" and r["channel"] == "dir:bolt-supply-in"
       and r["error"] == "IEA01 says 2 groups, found 1"
       and ISO.match(r["received"]), "docs: the rejected document's record", r)
rc, ds, err = runj("docs", "--partner", "acme-retail", "--state",
                   "translated", *C)
ok(rc == 0 and [x["id"] for x in ds] == [D["translated"]],
   "docs --partner --state", rc, ds, err)
rc, ds, err = runj("docs", "--type", "856", *C)
ok(rc == 0 and [x["id"] for x in ds] == [D["shipment"], D["rejected"]],
   "docs --type 856", rc, ds, err)
rc, ds, err = runj("docs", "--limit", "2", *C)
ok(rc == 0 and [x["id"] for x in ds] == [D["received"], D["shipment"]],
   "docs --limit 2", rc, ds, err)
rc, out, err = run("docs", *C)
lines = out.splitlines()
ok(rc == 0 and len(lines) == 7 and lines[0].split()[:3] ==
   ["ID", "RECEIVED", "PARTNER"] and lines[1].startswith(D["received"])
   and any(l.startswith(D["rejected"]) and "rejected" in l and
           "IEA01 says 2 groups, found 1" in l for l in lines),
   "docs: human table, full ids, error column", rc, out, err)
rc, out, err = run("docs", "--partner", "nobody", *C)
ok(rc == 0 and out.strip() == "no documents", "docs: none match", rc, out)

# show: a document
rc, sh, err = runj("show", D["translated"], *C)
ok(rc == 0 and sh["kind"] == "document"
   and sh["document"]["id"] == D["translated"]
   and [e["id"] for e in sh["events"]] == [E["po1"], E["po2"]]
   and [e["idempotencykey"] for e in sh["events"]] ==
   ["x12:acme-retail:905:0001", "x12:acme-retail:905:0002"]
   and sorted(j["id"] for j in sh["jobs"]) == sorted([J["retry"], J["dead"]])
   and len(sh["acks"]) == 3, "show DOC --json: events, deliveries, acks",
   rc, json.dumps(sh)[:1500], err)
if rc == 0:
    dead = [j for j in sh["jobs"] if j["id"] == J["dead"]][0]
    ok(dead["state"] == "dead" and dead["attempts"] == 1
       and dead["error"] == "HTTP 422: unknown product SKU-9",
       "show DOC: the dead delivery's error and attempts", dead)
rc, sh, err = runj("show", D["rejected"], *C)
ok(rc == 0 and sh["diagnostics"][0]["code"] == "X12-IEA01"
   and sh["events"][0]["type"] == "document.rejected",
   "show rejected DOC --json: diagnostics as JSON", rc, sh, err)
rc, out, err = run("show", D["rejected"], *C)
ok(rc == 0 and re.search(r"^state\s+rejected$", out, re.M)
   and '"code": "X12-IEA01"' in out and "diagnostics:" in out
   and "document.rejected" in out, "show DOC: human, pretty diagnostics",
   rc, out, err)
rc, out, err = run("show", D["translated"], *C)
ok(rc == 0 and "deliveries:" in out and J["dead"] in out
   and "HTTP 422: unknown product SKU-9" in out and "acknowledgements:" in out
   and "po_ack" in out, "show DOC: human deliveries and acks", rc, out, err)
p = subprocess.run([edigate, "show", "--raw", D["translated"]] + C,
                   capture_output=True)
ok(p.returncode == 0 and p.stdout == b"ISA*acme*905~\nGS*PO~\n",
   "show --raw: the bytes exactly", p.returncode, p.stdout, p.stderr)
rc, out, err = run("show", "--raw", "--json", D["translated"], *C)
ok(rc == 64, "show --raw --json: 64", rc, err)

# show: an event, a job; prefixes
rc, sh, err = runj("show", E["po2"], *C)
ok(rc == 0 and sh["kind"] == "event" and sh["doc"] == D["translated"]
   and sh["event"]["subject"] == "4500012346"
   and [j["id"] for j in sh["jobs"]] == [J["dead"]],
   "show EVENT --json: the CloudEvent and its job", rc, sh, err)
rc, out, err = run("show", E["po1"], *C)
ok(rc == 0 and '"subject": "4500012345"' in out and J["retry"] in out,
   "show EVENT: pretty JSON and jobs", rc, out, err)
rc, sh, err = runj("show", J["dead"], *C)
ok(rc == 0 and sh["kind"] == "job" and sh["job"]["state"] == "dead"
   and sh["job"]["ref"] == E["po2"] and sh["job"]["target"] == "erp",
   "show JOB --json", rc, sh, err)
rc, out, err = run("show", J["retry"], *C)
ok(rc == 0 and re.search(r"^error\s+HTTP 503 Service Unavailable$", out, re.M)
   and re.search(r"^state\s+pending$", out, re.M), "show JOB: human record",
   rc, out, err)
pfx = D["quarantined"].replace("-", "")[:20]
rc, sh, err = runj("show", pfx, *C)
ok(rc == 0 and sh["document"]["id"] == D["quarantined"]
   and sh["document"]["error"] == "unknown sender ZZ:GHOST",
   "show a unique prefix (dashes optional)", rc, err)
amb = common(E["po1"], E["po2"])
rc, out, err = run("show", amb, *C)
ok(rc == 64 and "ambiguous" in err, "show an ambiguous prefix: exit 64 "
   "'ambiguous'", amb, rc, err)
amb = common(E["po2"], J["retry"])
rc, out, err = run("show", amb, *C)
ok(rc == 64 and "ambiguous" in err, "a prefix of an event and a job: 64",
   amb, rc, err)
rc, out, err = run("show", "00000000-0000-7000-8000-000000000000", *C)
ok(rc == 66 and "no document, event or job" in err, "show an unknown id: 66",
   rc, err)
rc, out, err = run("show", "xyz", *C)
ok(rc == 64 and "not an id" in err, "show a non-hex id: 64", rc, err)

# events
rc, es, err = runj("events", "--doc", D["translated"], *C)
ok(rc == 0 and [e["subject"] for e in es] == ["4500012345", "4500012346"],
   "events --doc", rc, es, err)
rc, es, err = runj("events", "--biz", "order:acme-retail:4500012346", *C)
ok(rc == 0 and [e["id"] for e in es] == [E["po2"]], "events --biz", rc, es,
   err)
rc, es, err = runj("events", *C)
ok(rc == 0 and [e["id"] for e in es] == [E["shipment"], E["po1"], E["po2"],
                                        E["rejected"]],
   "events: newest documents first", rc, es, err)
rc, es, err = runj("events", "--limit", "1", *C)
ok(rc == 0 and [e["id"] for e in es] == [E["shipment"]], "events --limit 1",
   rc, es, err)
rc, out, err = run("events", "--doc", "00000000", *C)
ok(rc == 66, "events --doc unknown: 66", rc, err)
rc, out, err = run("events", *C)
ok(rc == 0 and out.splitlines()[0].startswith("EVENT")
   and "shipment.noticed" in out and "SH240311-01" in out,
   "events: human table", rc, out, err)

# acks
rc, ac, err = runj("acks", *C)
ok(rc == 0 and len(ac) == 5, "acks --json: five expectations", rc, ac, err)
rc, ac, err = runj("acks", "--overdue", *C)
ok(rc == 0 and sorted((a["kind"], a["state"]) for a in ac) ==
   [("erp", "pending"), ("po_ack", "overdue")]
   and all(a["overdue"] for a in ac),
   "acks --overdue: overdue and pending past due", rc, ac, err)
rc, ac, err = runj("acks", "--partner", "bolt-supply", "--kind",
                   "functional", *C)
ok(rc == 0 and len(ac) == 1 and ac[0]["state"] == "rejected"
   and ac[0]["reason"] == "997 AK5*R: set 0001 rejected"
   and ac[0]["ref"] == "000000042" and ISO.match(ac[0]["resolved"]),
   "acks --partner --kind: the negative ack with its reason", rc, ac, err)
rc, out, err = run("acks", "--overdue", *C)
lines = out.splitlines()
ok(rc == 0 and len(lines) == 3 and lines[0].split()[:3] ==
   ["PARTNER", "KIND", "REF"] and "4500012345" in out
   and "pending (past due)" in out, "acks --overdue: human table", rc, out)

# jobs and dlq
rc, js, err = runj("jobs", *C)
ok(rc == 0 and sorted((j["id"], j["state"]) for j in js) ==
   sorted([(J["retry"], "pending"), (J["dead"], "dead"),
           (J["held"], "held")]), "jobs --json: states", rc, js, err)
rc, js, err = runj("jobs", "--state", "held", "--kind", "forward", *C)
ok(rc == 0 and [j["id"] for j in js] == [J["held"]]
   and js[0]["due"] is None, "jobs --state held --kind forward", rc, js, err)
rc, out, err = run("jobs", "--state", "pending", *C)
ok(rc == 0 and J["retry"] in out and "HTTP 503 Service Unavailable" in out,
   "jobs: human table with the last error", rc, out, err)
rc, dl, err = runj("dlq", *C)
ok(rc == 0 and len(dl) == 1 and dl[0]["id"] == J["dead"]
   and dl[0]["error"] == "HTTP 422: unknown product SKU-9"
   and dl[0]["attempts"] == 1 and ISO.match(dl[0]["first_try"])
   and ISO.match(dl[0]["last_try"]) and dl[0]["event_type"] == "order.created"
   and dl[0]["partner"] == "acme-retail" and dl[0]["subject"] == "4500012346",
   "dlq --json: error, attempts, tries, the event's type/partner/subject",
   rc, dl, err)
rc, out, err = run("dlq", *C)
ok(rc == 0 and J["dead"] in out and "order.created" in out
   and "4500012346" in out, "dlq: human table", rc, out, err)


# read-only beside a writer
def beside(mode):
    w = subprocess.Popen([fixture, mode, d], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    line = w.stdout.readline().decode().strip()
    return w, line


w, line = beside("lock")
rc, st, err = runj("status", *C)
rc2, ds, err2 = runj("docs", *C)
rc3, out, err3 = run("show", D["rejected"], *C)
ok(line == "locked" and rc == 0 and rc2 == 0 and len(ds) == 6 and rc3 == 0,
   "read-only commands while another process holds a write transaction",
   line, rc, err, rc2, err2, rc3, err3)
w.stdin.close()
w.wait()
w, line = beside("open")
rc, js, err = runj("jobs", *C)
ok(line == "open" and rc == 0 and len(js) == 3,
   "read-only commands while another process has the store open read-write",
   line, rc, err)
rc, out, err = run("hold", J["retry"], *C)
ok(rc == 0 and "held job " + J["retry"] in out,
   "hold while another process has the store open", rc, out, err)
w.stdin.close()
w.wait()


def states():
    rc, js, err = runj("jobs", *C)
    return {j["id"]: j for j in (js or [])}


# hold / release / replay
s = states()
ok(s.get(J["retry"], {}).get("state") == "held", "  the job is held", s)
rc, out, err = run("hold", J["retry"], *C)
ok(rc == 65 and "only a pending job" in err, "hold a held job: 65", rc, err)
rc, out, err = run("release", J["retry"], *C)
s = states()
ok(rc == 0 and "released job " + J["retry"] in out
   and s[J["retry"]]["state"] == "pending" and ISO.match(s[J["retry"]]["due"]),
   "release: held -> pending, due now", rc, out, err, s.get(J["retry"]))
rc, out, err = run("release", D["shipment"], *C)
s = states()
ok(rc == 0 and J["held"] in out and s[J["held"]]["state"] == "pending",
   "release DOC: its held job is pending", rc, out, err)
rc, out, err = run("hold", D["translated"], *C)
s = states()
ok(rc == 0 and s[J["retry"]]["state"] == "held"
   and s[J["dead"]]["state"] == "dead",
   "hold DOC: its pending job is held, the dead one is not", rc, out, err)
rc, out, err = run("release", E["po1"], *C)
s = states()
ok(rc == 0 and s[J["retry"]]["state"] == "pending", "release EVENT", rc, out,
   err)
rc, out, err = run("hold", E["po2"], *C)
ok(rc == 65 and "no pending job" in err, "hold an event without pending "
   "jobs: 65", rc, err)
rc, out, err = run("replay", J["retry"], *C)
ok(rc == 65 and "only a dead job" in err, "replay a pending job: 65", rc, err)
rc, out, err = run("replay", J["dead"], *C)
s = states()
ok(rc == 0 and "replayed job " + J["dead"] in out
   and s[J["dead"]]["state"] == "pending"
   and s[J["dead"]]["error"] == "HTTP 422: unknown product SKU-9",
   "replay a dead job: pending, due now, error kept", rc, out, err)
rc, dl, err = runj("dlq", *C)
ok(rc == 0 and dl == [], "  the dead-letter queue is empty", rc, dl)
before = set(states())
rc, out, err = run("replay", E["po1"], *C)
s = states()
new = [s[i] for i in set(s) - before]
ok(rc == 0 and len(new) == 1 and new[0]["kind"] == "forward"
   and new[0]["ref"] == E["po1"] and new[0]["target"] == "erp"
   and new[0]["state"] == "pending" and new[0]["id"] in out,
   "replay EVENT: a new forward job to erp", rc, out, err, new)
before = set(s)
rc, out, err = run("replay", D["translated"], *C)
s = states()
new = [s[i] for i in set(s) - before]
ok(rc == 0 and sorted(j["ref"] for j in new) == sorted([E["po1"], E["po2"]])
   and all(j["kind"] == "forward" for j in new),
   "replay a translated DOC: a forward job per event", rc, out, err, new)
before = set(s)
rc, out, err = run("replay", D["rejected"], *C)
s = states()
new = [s[i] for i in set(s) - before]
ok(rc == 0 and len(new) == 1 and new[0]["kind"] == "translate"
   and new[0]["ref"] == D["rejected"] and new[0]["state"] == "pending",
   "replay a rejected DOC: a translate job", rc, out, err, new)
before = set(s)
rc, out, err = run("replay", D["quarantined"], *C)
s = states()
new = [s[i] for i in set(s) - before]
ok(rc == 0 and len(new) == 1 and new[0]["kind"] == "translate",
   "replay a quarantined DOC: a translate job", rc, out, err, new)
rc, out, err = run("replay", D["duplicate"], *C)
ok(rc == 65 and "duplicate" in err, "replay a duplicate DOC: 65", rc, err)
rc, out, err = run("replay", D["received"], *C)
ok(rc == 65, "replay a received DOC: 65", rc, err)
rc, out, err = run("replay", "00000000-0000-7000-8000-000000000000", *C)
ok(rc == 66, "replay an unknown id: 66", rc, err)
rc, out, err = run("hold", common(E["po1"], E["po2"]), *C)
ok(rc == 64 and "ambiguous" in err, "hold an ambiguous prefix: 64", rc, err)
rc, st, err = runj("status", *C)
ok(rc == 0 and st["jobs"]["translate"]["pending"] == 2
   and st["jobs"]["forward"]["pending"] == 6,
   "status counts the queued jobs", rc, st and st["jobs"])

print("1..%d" % n)
sys.exit(1 if failed else 0)
