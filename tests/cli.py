#!/usr/bin/env python3
"""cli.py: the `edigate translate` / `edigate map` contract (TAP).

Exit codes, stdout one JSON event per line, stderr diagnostics in the
"FILE: segment N (TAG), element NN: error|warning CODE: message" form,
configuration-driven partner ids, --help everywhere, and the data-driven
engine: an 810 map and structure that edigate does not ship, added at test
time, translate a real 810 with no code change.
"""
import hashlib
import json
import os
import pty
import re
import subprocess
import sys
import tempfile
import time

edigate = os.environ.get("EDIGATE", "./edigate")
top = os.environ.get("top_srcdir", ".")
shared = os.environ.get("EDIGATE_SHARED", os.path.join(top, "..", "shared"))
x12 = os.path.join(shared, "corpus", "public", "x12")
demo = os.path.join(top, "etc", "demo")

n = 0
failed = 0
DIAG = re.compile(r"^[^:]+: (segment \d+ \([A-Z0-9]+\)(, element \d\d(-\d\d)?)?: )?"
                  r"(error|warning) [A-Z0-9-]+: .+$")
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                   r"[0-9a-f]{12}$")


def ok(cond, name, *info):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, name))
    if not cond:
        for i in info:
            for l in str(i).splitlines()[:15]:
                print("#   " + l)
    return cond


def run(*args):
    p = subprocess.run([edigate] + list(args), capture_output=True)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def events(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


# usage and help
rc, out, err = run()
ok(rc == 64 and "usage" in err, "no command: usage, exit 64", rc, err)
rc, out, err = run("--help")
ok(rc == 0 and "translate" in out and "map" in out, "--help lists commands", rc)
for sub in (["translate"], ["map"]):
    rc, out, err = run(*(sub + ["--help"]))
    ok(rc == 0 and out.startswith("usage: edigate " + sub[0]),
       "%s --help: usage on stdout, exit 0" % sub[0], rc, out, err)
rc, out, err = run("translate")
ok(rc == 64 and "usage" in err, "translate without files: exit 64", rc, err)
rc, out, err = run("translate", "-Q", "x")
ok(rc == 64, "translate with an unknown option: exit 64", rc, err)
rc, out, err = run("frobnicate")
ok(rc == 64 and "unknown command" in err, "unknown command: exit 64", rc, err)

# unreadable input
rc, out, err = run("translate", "/nonexistent/file.edi")
ok(rc == 66 and "/nonexistent/file.edi" in err, "missing file: exit 66", rc, err)
rc, out, err = run("translate", top)
ok(rc == 66, "a directory: exit 66", rc, err)

# not EDI at all
rc, out, err = run("translate", os.path.join(x12, "not-edi_garbage.edi"))
ok(rc == 65 and out == "" and "error NOT-EDI" in err,
   "garbage: NOT-EDI error, nothing printed, exit 65", rc, out, err)
with tempfile.NamedTemporaryFile(suffix=".edi") as f:
    rc, out, err = run("translate", f.name)
    ok(rc == 65 and out == "" and " error " in err,
       "empty file: rejected with a diagnostic", rc, out, err)

# the demo: configured partners name the events
rc, out, err = run("translate", "-c", os.path.join(demo, "edigate.ini"),
                   os.path.join(demo, "acme-850.edi"),
                   os.path.join(demo, "bolt-856.edi"))
evs = events(out) if rc == 0 else []
ok(rc == 0 and len(evs) == 2, "demo: two events, exit 0", rc, out, err)
if len(evs) == 2:
    a, b = evs
    ok(a["type"] == "order.created" and a["partner"] == "acme-retail"
       and a["source"] == "/edigate/partners/acme-retail"
       and a["subject"] == "4500012345"
       and a["businesskey"] == "order:acme-retail:4500012345",
       "demo 850: partner from x12_id, subject and business key", json.dumps(a))
    ok(a["idempotencykey"] ==
       "x12:acme-retail:ZZ/ACMERETAIL:ZZ/WIDGETCO:000000905:905:0001",
       "demo 850: idempotency key from the envelope", a["idempotencykey"])
    doc = a["data"]["document"]
    ok([l["quantity"]["value"] for l in doc.get("lines", [])] == ["24", "10"]
       and doc["lines"][0]["price"]["amount"] == "36.50",
       "demo 850: decimals as canonical strings", json.dumps(doc))
    ok(b["type"] == "shipment.noticed" and b["partner"] == "bolt-supply"
       and b["subject"] == "SH240311-01",
       "demo 856: shipment.noticed from bolt-supply", json.dumps(b)[:400])
    ok(UUID7.match(a["id"]) is not None and a["id"] != b["id"],
       "event ids are distinct UUIDv7", a["id"], b["id"])

# partner time zone: occurredAt carries the zone's offset
with tempfile.TemporaryDirectory() as d:
    os.mkdir(os.path.join(d, "partners.d"))
    with open(os.path.join(d, "edigate.ini"), "w") as f:
        f.write("[gateway]\npartners_dir = partners.d\n")
    with open(os.path.join(d, "partners.d", "acme.ini"), "w") as f:
        f.write("[partner]\nx12_id = ZZ:ACMERETAIL\ntimezone = America/New_York\n")
    rc, out, err = run("translate", "-c", os.path.join(d, "edigate.ini"),
                       os.path.join(demo, "acme-850.edi"),
                       os.path.join(demo, "bolt-856.edi"))
    evs = events(out)
    ok(rc == 0 and len(evs) == 2
       and evs[0]["data"]["occurredAt"] == "2024-03-01T00:00:00-05:00"
       and evs[1]["data"]["occurredAt"] == "2024-03-11T16:30:00Z",
       "occurredAt in the partner's zone (EST in March), UTC for others",
       rc, err, [e["data"].get("occurredAt") for e in evs])
    with open(os.path.join(d, "partners.d", "acme.ini"), "a") as f:
        f.write("colour = blue\n")
    rc, out, err = run("translate", "-c", os.path.join(d, "edigate.ini"),
                       os.path.join(demo, "acme-850.edi"))
    ok(rc == 78 and "acme.ini:4: [partner] unknown key 'colour'" in err
       and out == "", "bad configuration: exit 78 naming file, line and key",
       rc, err)

# partner override: a map that `extends` the base, chosen by configuration
import shutil
with tempfile.TemporaryDirectory() as d:
    maps = os.path.join(d, "maps")
    shutil.copytree(os.path.join(top, "maps"), maps,
                    ignore=shutil.ignore_patterns("tests"))
    os.makedirs(os.path.join(maps, "partners", "acme-retail"))
    with open(os.path.join(maps, "partners", "acme-retail",
                           "850-order-created.map"), "w") as f:
        f.write("map      acme-850-order-created\n"
                "extends  ../../x12/850-order-created.map\n"
                "partner  acme-retail\n"
                "version  4\n"
                "group parties.shipTo from N1[N101=ST|DP]\n"
                "  apply party\n"
                "end\n"
                "lookup refType add\n"
                "  19  -> department\n"
                "end\n")
    os.mkdir(os.path.join(d, "partners.d"))
    with open(os.path.join(d, "edigate.ini"), "w") as f:
        f.write("[gateway]\npartners_dir = partners.d\n")
    with open(os.path.join(d, "partners.d", "acme-retail.ini"), "w") as f:
        f.write("[partner]\nx12_id = ZZ:ACMERETAIL\n")
    src = open(os.path.join(demo, "acme-850.edi")).read()
    src = src.replace("N1*ST*ACME DC 7", "N1*DP*ACME DC 7").replace(
        "REF*DP*038", "REF*19*038")
    po = os.path.join(d, "po.edi")
    with open(po, "w") as f:
        f.write(src)
    rc, out, err = run("translate", "-M", maps, "-c",
                       os.path.join(d, "edigate.ini"), po)
    evs = events(out)
    doc = evs[0]["data"]["document"] if evs else {}
    ok(rc == 0 and evs and evs[0]["data"]["map"]["id"] == "acme-850-order-created"
       and evs[0]["data"]["map"]["version"] == 4
       and doc.get("parties", {}).get("shipTo", {}).get("name") == "ACME DC 7"
       and doc.get("references") == [{"type": "department", "value": "038"}]
       and "warning" not in err,
       "partner override: configured partner gets its map (N1*DP ship-to, "
       "REF*19 department)", rc, err, json.dumps(doc)[:300])
    rc, out, err = run("translate", "-M", maps, "-p", "someone-else", po)
    evs = events(out)
    doc = evs[0]["data"]["document"] if evs else {}
    ok(rc == 0 and evs and evs[0]["data"]["map"]["id"] == "x12-850-order-created"
       and "shipTo" not in doc.get("parties", {})
       and "warning MAP-REQ" in err and "warning MAP-LOOKUP" in err,
       "other partners keep the base map (no ship-to, REF*19 unknown)",
       rc, err)

# envelopes change within a file: each event names its own interchange/group
with tempfile.TemporaryDirectory() as d:
    src = open(os.path.join(demo, "acme-850.edi")).read()
    second = src.replace("000000905", "000000906").replace(
        "*905*", "*906*").replace("GE*1*905", "GE*1*906").replace(
        "4500012345", "4500012346")
    grp2 = src[src.index("GS*"):src.index("IEA*")].replace(
        "*905*X", "*907*X").replace("GE*1*905", "GE*1*907").replace(
        "4500012345", "4500012347")
    first = src.replace("IEA*1*", grp2 + "IEA*2*")
    po = os.path.join(d, "multi.edi")
    with open(po, "w") as f:
        f.write(first + second)
    rc, out, err = run("translate", po)
    evs = events(out)
    got = [(e["subject"], e["data"]["source"]["interchange"]["controlNumber"],
            e["data"]["source"]["group"]["controlNumber"],
            e["idempotencykey"].split(":")[-3]) for e in evs]
    ok(rc == 0 and got == [("4500012345", "000000905", "905", "000000905"),
                           ("4500012347", "000000905", "907", "000000905"),
                           ("4500012346", "000000906", "906", "000000906")],
       "each event carries its own interchange and group (envelope cache)",
       rc, err, got)

# -p forces the partner id
rc, out, err = run("translate", "-p", "someone",
                   os.path.join(demo, "acme-850.edi"))
evs = events(out)
ok(rc == 0 and evs and evs[0]["partner"] == "someone", "-p sets the partner",
   rc, err)

# no configuration: partner is ISA05-ISA06
rc, out, err = run("translate", os.path.join(demo, "acme-850.edi"))
evs = events(out)
ok(rc == 0 and evs and evs[0]["partner"] == "ZZ-ACMERETAIL",
   "no configuration: partner from ISA05-ISA06", rc, err)

# a transaction set without a shipped map
rc, out, err = run("translate", os.path.join(x12, "810_4010_two-invoices.edi"))
ok(rc == 65 and out == "" and "no map for X12 810" in err,
   "810: 'no map for X12 810', exit 65", rc, out, err)

# diagnostics format, on a malformed file
rc, out, err = run("translate",
                   os.path.join(x12, "940_envelope-control-number-mismatch.edi"))
lines = [l for l in err.splitlines() if l]
ok(rc == 65 and lines and all(DIAG.match(l) for l in lines),
   "every stderr line is a diagnostic in the contract's form", rc, err)
ok(any(re.search(r"segment \d+ \(IEA\), element 02: error", l) for l in lines),
   "IEA02 mismatch names segment, tag and element", err)

# mixed: one bad file does not stop the others
rc, out, err = run("translate", os.path.join(demo, "acme-850.edi"),
                   os.path.join(x12, "not-edi_garbage.edi"))
ok(rc == 65 and len(events(out)) == 1, "good + bad files: good one printed, exit 65",
   rc, err)

# -s: a stats line per file, after its events and diagnostics
acme = os.path.join(demo, "acme-850.edi")
twoinv = os.path.join(x12, "810_4010_two-invoices.edi")
rc, out, err = run("translate", "-s", acme, twoinv)
st = re.findall(r"^(.*): stats: (\d+) sets, (\d+) events, (\d+) rejected, "
                r"(\d+) bytes in (\d+\.\d{3}) ms, (\d+\.\d{3}) ms of CPU$",
                err, re.M)
ok(rc == 65 and len(events(out)) == 1 and len(st) == 2 and
   st[0][:5] == (acme, "1", "1", "0", str(os.path.getsize(acme))) and
   st[1][:5] == (twoinv, "2", "0", "2", str(os.path.getsize(twoinv))) and
   float(st[0][5]) > 0 and float(st[0][6]) > 0,
   "-s: sets, events, rejected, bytes, time and CPU time per file", rc, err)
ok(err.index("no map for X12 810") < err.index(twoinv + ": stats"),
   "-s: the stats line follows the file's diagnostics", err)
rc, out, err = run("translate", acme)
ok(rc == 0 and "stats:" not in err, "without -s: no stats line", err)

# Diagnostics go to a file or pipe in blocks (cmd_translate.c,
# stderr_blocks), to a terminal line by line: the same lines either way,
# each whole, each file's before its stats line and before the next
# file's.  Here 4,000 rejected sets print about 400 KB, several blocks.
with tempfile.TemporaryDirectory() as d:
    src = open(twoinv, "rb").read()
    isa, rest = src[:src.index(b"GS*")], src[src.index(b"GS*"):]
    many = os.path.join(d, "many-rejected.edi")
    with open(many, "wb") as f:
        f.write(isa + rest[:rest.index(b"IEA*")] * 2000 +
                rest[rest.index(b"IEA*"):].replace(b"IEA*1*", b"IEA*2000*"))
    args = [edigate, "translate", "-s", many, acme, many]
    p = subprocess.run(args, capture_output=True)
    err = p.stderr.decode()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(edigate, args)
    raw = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        raw += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    tty = raw.decode().replace("\r\n", "\n")
    tty = "".join(l for l in tty.splitlines(True) if not l.startswith("{"))

    def shape(text):
        return re.sub(r" in \d+\.\d{3} ms, \d+\.\d{3} ms of CPU$", " in T ms",
                      text, flags=re.M)
    lines = err.splitlines()
    stats = [i for i, l in enumerate(lines) if ": stats: " in l]
    ok(p.returncode == 65 and len(lines) == 4000 + 4000 + 3 and
       stats == [4000, 4001, 8002] and
       all(DIAG.match(l) for i, l in enumerate(lines) if i not in stats) and
       len(err) > 4 * 64 * 1024,
       "stderr to a pipe: %d diagnostics, each whole, each file's before "
       "its stats line" % (len(lines) - len(stats)), p.returncode,
       len(lines), stats, err[-300:])
    ok(shape(err) == shape(tty),
       "stderr to a terminal: the same lines as to a pipe",
       len(err), len(tty), tty[:300])

# rawRef.sha256 names the whole input and map.sha256 the map file, as
# hashlib computes them: one thread (hashed before the first event), and a
# pool (events written with a stand-in, replaced as each is committed),
# over a file of more than 1 MB.
with tempfile.TemporaryDirectory() as d:
    src = open(acme, "rb").read()
    isa, rest = src[:src.index(b"GS*")], src[src.index(b"GS*"):]
    body = rest[:rest.index(b"IEA*")]
    big = os.path.join(d, "big.edi")
    with open(big, "wb") as f:
        f.write(isa + body * 3000 +
                rest[rest.index(b"IEA*"):].replace(b"IEA*1*", b"IEA*3000*"))
    want = {"in": hashlib.sha256(open(big, "rb").read()).hexdigest(),
            "map": hashlib.sha256(open(os.path.join(
                top, "maps", "x12", "850-order-created.map"),
                "rb").read()).hexdigest()}
    for j in ("1", "2"):
        t0 = int(time.time() * 1000)
        rc, out, err = run("translate", "-j", j, big)
        t1 = int(time.time() * 1000)
        evs = events(out)
        ids = [e["id"] for e in evs]
        # RFC 9562 version 7: 48 bits of Unix milliseconds, version 7,
        # variant 10; every event's its own
        ok(len(ids) == 3000 and len(set(ids)) == len(ids) and
           all(UUID7.match(i) and
               t0 <= int(i.replace("-", "")[:12], 16) <= t1 for i in ids),
           "-j %s: every event id a distinct UUIDv7 of the run's time" % j,
           [i for i in ids if not UUID7.match(i)][:3], ids[:2], t0, t1)
        got = {(e["data"]["source"]["rawRef"]["sha256"],
                e["data"]["map"]["sha256"]) for e in evs}
        ok(rc == 0 and os.path.getsize(big) > 1 << 20 and
           len(evs) == 3000 and got == {(want["in"], want["map"])},
           "-j %s: rawRef.sha256 and map.sha256 are the file's and the "
           "map's SHA-256 in all %d events" % (j, len(evs)), rc, err[-500:],
           got, want)
    # 10 MB: the first worker is still hashing when the ring of sets is
    # full, so events are held in the output with a stand-in and mended
    # once the hash is known (translate_opts.out_held)
    with open(big, "wb") as f:
        f.write(isa + body * 25000 +
                rest[rest.index(b"IEA*"):].replace(b"IEA*1*", b"IEA*25000*"))
    sha = hashlib.sha256(open(big, "rb").read()).hexdigest()
    rc, out, err = run("translate", "-j", "2", big)
    lines = out.splitlines()
    ok(rc == 0 and os.path.getsize(big) > 8 << 20 and len(lines) == 25000 and
       all(('"sha256":"%s"' % sha) in l for l in lines) and
       "0" * 64 not in out,
       "-j 2, 10 MB: every one of %d events has the file's SHA-256, no "
       "stand-in" % len(lines), rc, err[-500:])

# data-driven: an 810 map + structure added at test time
d810 = os.path.join(top, "tests", "data", "x12-810")
mapf = os.path.join(d810, "810-invoice-received.map")
if os.path.exists(mapf):
    rc, out, err = run("translate", "-m", mapf,
                       os.path.join(x12, "810_4010_two-invoices.edi"))
    evs = events(out)
    ok(rc == 0 and [e["type"] for e in evs] == ["invoice.received"] * 2,
       "810 with a test-time map: two invoice.received events", rc, err)
    if len(evs) == 2:
        ok([len(e["data"]["document"].get("lines", [])) for e in evs] == [7, 2]
           and [e["subject"] for e in evs] == ["00001", "00001"],
           "810: subjects and line counts from the real file",
           [e["data"]["document"] for e in evs])
        ok([e["data"]["document"].get("orderReference", {}).get("id") for e in evs]
           == ["A99999-01", "A99999-04"], "810: PO numbers (BIG04)",
           [e["data"]["document"].get("orderReference") for e in evs])
else:
    ok(False, "tests/data/x12-810 map present")

# map check: compile errors carry file:line:col
with tempfile.NamedTemporaryFile("w", suffix=".map", delete=False) as f:
    f.write("map bad\nversion 1\nsource x12 850\nevent order.created 1\n"
            "structure structures/x12-850.struct\n"
            "id = BEG03 | nosuchtransform\n")
    bad = f.name
rc, out, err = run("map", "check", bad)
os.unlink(bad)
ok(rc == 65 and re.search(re.escape(bad) + r":6:\d+: ", err),
   "map check: error at file:line:col, exit 65", rc, err)
rc, out, err = run("map", "check",
                   os.path.join(top, "maps", "x12", "850-order-created.map"))
ok(rc == 0, "map check: the shipped 850 map compiles", rc, err)

# env.partner.NAME reads the partner's configuration
with tempfile.TemporaryDirectory() as d:
    mp = os.path.join(d, "t.map")
    with open(mp, "w") as f:
        f.write("map t\nversion 1\nsource x12 850\n"
                "structure structures/x12-850.struct\nevent order.created 1\n"
                "id = BEG03 required\nparties.buyer.name = env.partner.name\n"
                "parties.buyer.id.value = env.partner.id\n")
    rc, out, err = run("translate", "-m", mp, "-c",
                       os.path.join(demo, "edigate.ini"),
                       os.path.join(demo, "acme-850.edi"))
    evs = events(out)
    ok(rc == 0 and evs and evs[0]["data"]["document"].get("parties") ==
       {"buyer": {"name": "ACME Retail Inc.", "id": {"value": "acme-retail"}}},
       "env.partner.name and env.partner.id from the configuration", rc, err,
       out[:300])

# map run --trace: where every value came from
rc, out, err = run("map", "run", "--trace",
                   os.path.join(top, "maps", "x12", "850-order-created.map"),
                   os.path.join(demo, "acme-850.edi"))
ok(rc == 0 and len(events(out)) == 1 and re.search(
    r'^trace: x12/850-order-created\.map:\d+ lines\[0\]\.quantity\.unitCode '
    r'<- PO103 "CA" \(seg 11\) \| lookup uom -> "CS"$', err, re.M),
   "map run --trace: rule, field, element, segment and each transform", rc,
   err[:2000])

# map check: lint warnings and structure errors with file:line:col
with tempfile.NamedTemporaryFile("w", suffix=".map", delete=False) as f:
    f.write("map t\nversion 1\nsource x12 850\n"
            "structure structures/x12-850.struct\nevent order.created 1\n"
            "lookup unused on-miss warn\n  A -> b\nend\n"
            "id = BEG03 required\nnotes[] = ZZZ01\n")
    lint = f.name
rc, out, err = run("map", "check", lint)
os.unlink(lint)
ok(rc == 65 and re.search(re.escape(lint) + r":10:\d+: unknown segment ZZZ", err)
   and re.search(re.escape(lint) + r":6:\d+: warning: lookup 'unused' is never used",
                 err), "map check: unknown segment error, unused lookup warning",
   rc, err)

# A set too large for its map: a clear error, not a silent rejection.  The
# shipped 850 structure allows 100,000 PO1 loops; a copy of the maps allows
# ten times that, so that the map, not the tree, runs out of the set's
# memory (EG_MAX_SET_ARENA) first.
with tempfile.TemporaryDirectory() as d:
    shutil.copytree(os.path.join(top, "maps"), os.path.join(d, "maps"))
    st = os.path.join(d, "maps", "structures", "x12-850.struct")
    with open(st) as f:
        text = f.read()
    with open(st, "w") as f:
        f.write(text.replace("loop PO1 1..100000\n", "loop PO1 1..1000000\n"))
    n_po1 = 450000
    segs = ["ST*850*0001", "BEG*00*SA*PO1**20251104"]
    segs += ["PO1*%d*1*EA*1.00**BP*B%d*VP*V%d*UP*0123456789%02d"
             % (i + 1, i, i, i % 100) for i in range(n_po1)]
    segs += ["CTT*%d" % n_po1, "SE*%d*0001" % (len(segs) + 2)]
    big = os.path.join(d, "big.x12")
    with open(big, "w") as f:
        f.write("ISA*00*          *00*          *ZZ*PEERSENDER     *ZZ*"
                "PEERRECEIVER   *250101*1200*^*00501*000000001*0*T*:~"
                "GS*PO*PEERSENDER*PEERRECEIVER*20250101*1200*1*X*005010~"
                + "~".join(segs) + "~GE*1*1~IEA*1*000000001~")
    rc, out, err = run("translate", "-M", os.path.join(d, "maps"), big)
    ok(rc == 65 and out == "" and re.search(
        r"segment 3 \(ST\): error MAP-SET-LIMIT: the set's memory limit "
        r"\(EG_MAX_SET_ARENA\) was reached while mapping it", err),
       "a set too large for its map: MAP-SET-LIMIT, no event", rc, err[:300])


# Maps are compiled as documents need them (edigate(1) MAPS): every map's
# header is read first, a map compiled when a document first selects it.
with tempfile.TemporaryDirectory() as d:
    maps = os.path.join(d, "maps")
    shutil.copytree(os.path.join(top, "maps"), maps,
                    ignore=shutil.ignore_patterns("tests"))
    po = os.path.join(demo, "acme-850.edi")
    orders = os.path.join(top, "maps", "tests", "edifact-orders-order-created",
                          "eancom-d96a.edi")
    rc, good, err = run("translate", "-M", maps, po)
    ok(rc == 0 and len(events(good)) == 1, "lazy maps: the copy translates",
       rc, err)
    def break_map(path, line):
        # append a line that does not compile: the map's text, and the
        # number of the line added
        body = open(path).read()
        with open(path, "a") as f:
            f.write(line + "\n")
        return body, body.count("\n") + 1
    edimap = os.path.join(maps, "edifact", "orders-order-created.map")
    body, nlines = break_map(edimap, "this is not a rule")
    rc, out, err = run("translate", "-M", maps, po)
    strip = lambda o: [dict(e, id=None, time=None) for e in events(o)]
    ok(rc == 0 and strip(out) == strip(good) and "orders-order-created" not in err,
       "lazy maps: a broken EDIFACT map does not stop an X12 translate",
       rc, err)
    rc, out, err = run("ack", "-M", maps, po)
    ok(rc == 0 and out.startswith("ISA*") and "orders-order-created" not in err,
       "lazy maps: nor an X12 ack", rc, err)
    rc, out, err = run("map", "check", "-M", maps, edimap)
    ok(rc == 65 and "orders-order-created.map:%d:" % nlines in err,
       "lazy maps: map check still compiles the broken map", rc, err)
    ini = os.path.join(d, "edigate.ini")
    with open(ini, "w") as f:
        f.write("[gateway]\nmaps_dir = %s\n" % maps)
    rc, out, err = run("config", "check", "-c", ini)
    ok(rc == 78 and "orders-order-created.map:%d:6: expected '='" % nlines in err,
       "lazy maps: config check still compiles every map", rc, err)
    rc, out, err = run("translate", "-M", maps, orders, po)
    evs = events(out)
    ok(rc == 78 and len(evs) == 1 and evs[0]["type"] == "order.created"
       and "orders-order-created.map:%d:6: expected '='" % nlines in err
       and "NO-MAP" in err
       and "eancom-d96a.edi: documents not translated: the map they need "
           "does not compile" in err
       and err.index("orders-order-created.map:") < err.index("NO-MAP"),
       "lazy maps: the needed map's compile errors, its documents rejected, "
       "the others translated, exit 78", rc, err)
    # the compile error is reported once, the documents counted per file
    rc, out, err = run("translate", "-M", maps, orders, orders)
    ok(rc == 78 and err.count("expected '='") == 1
       and err.count("documents not translated") == 2,
       "lazy maps: one report per broken map, a line per file", rc, err)
    # a header no compile could pass: nothing is read, as before
    with open(edimap, "w") as f:
        f.write(body.replace("source     edifact ORDERS", "source     edi ORDERS"))
    rc, out, err = run("translate", "-M", maps, po)
    ok(rc == 78 and out == "" and "orders-order-created.map:8:12: " in err,
       "lazy maps: a bad header stops translate before its input", rc, err)
    with open(edimap, "w") as f:
        f.write(body)
    # the map the X12 file needs is broken: translate and ack say so
    x12map = os.path.join(maps, "x12", "850-order-created.map")
    body850, n850 = break_map(x12map, "nothing = BEG03 | nosuchtransform")
    rc, out, err = run("translate", "-M", maps, po)
    ok(rc == 78 and out == ""
       and "850-order-created.map:%d:" % n850 in err
       and "unknown transform 'nosuchtransform'" in err and
       "NO-MAP: no map for X12 850: the map for it does not compile" in err,
       "lazy maps: the needed map broken: its errors, exit 78, and NO-MAP "
       "says the map does not compile", rc, err)
    rc, out, err = run("ack", "-M", maps, po)
    ok(rc == 78 and out == "" and "unknown transform" in err
       and "acme-850.edi: no acknowledgement: a map its documents need does "
           "not compile" in err,
       "lazy maps: no acknowledgement without the map, exit 78", rc, err)
    # the ack not printed uses up no control number: the next file's 997
    # has the number it has when it comes first
    bolt = os.path.join(demo, "bolt-856.edi")
    rc1, out1, err1 = run("ack", "-M", maps, bolt)
    rc, out, err = run("ack", "-M", maps, po, bolt)
    def ctls(x12):
        # ISA13, GS06 and each ST02: the control numbers (not the dates)
        if len(x12) < 106:
            return None
        el, st = x12[3], x12[105]
        segs = [seg.split(el) for seg in x12.replace("\n", "").split(st)]
        return [seg[13] if seg[0] == "ISA" else seg[6] if seg[0] == "GS"
                else seg[2] for seg in segs if seg[0] in ("ISA", "GS", "ST")]
    ok(rc1 == 0 and rc == 78 and ctls(out1) is not None and
       ctls(out) == ctls(out1),
       "lazy maps: an acknowledgement not printed takes no control number",
       rc, "%s | %s" % (ctls(out), ctls(out1)))
    rc, out, err = run("translate", "-M", maps, "-m",
                       os.path.join(maps, "x12", "850-order-created.map"), po)
    ok(rc == 78 and out == "" and "unknown transform" in err,
       "lazy maps: -m with the broken map: exit 78 before reading", rc, err)
    with open(x12map, "w") as f:
        f.write(body850)
    # -m compiles only that map, whatever else the folder holds
    with open(edimap, "a") as f:
        f.write("this is not a rule\n")
    rc, out, err = run("translate", "-M", maps, "-m", x12map, po)
    ok(rc == 0 and strip(out) == strip(good), "lazy maps: -m MAP ignores the "
       "folder's other maps", rc, err)
    # a partner overlay is compiled (with the base it extends) only for
    # its partner's documents
    os.makedirs(os.path.join(maps, "partners", "acme-retail"))
    ovl = os.path.join(maps, "partners", "acme-retail", "850-order-created.map")
    with open(ovl, "w") as f:
        f.write("map      acme-850-order-created\n"
                "extends  ../../x12/850-order-created.map\n"
                "partner  acme-retail\n"
                "version  4\n"
                "lookup refType add\n"
                "  DP  -> department\n"
                "end\n")
    rc, out, err = run("translate", "-M", maps, "-p", "acme-retail", po)
    evs = events(out)
    ok(rc == 0 and evs and evs[0]["data"]["map"]["id"] == "acme-850-order-created"
       and evs[0]["data"]["map"]["version"] == 4,
       "lazy maps: a partner overlay is chosen and compiled", rc, err)
    with open(ovl, "a") as f:
        f.write("nothing = BEG03 | nosuchtransform\n")
    rc, out, err = run("translate", "-M", maps, "-p", "someone-else", po)
    evs = events(out)
    ok(rc == 0 and evs and evs[0]["data"]["map"]["id"] == "x12-850-order-created"
       and "nosuchtransform" not in err,
       "lazy maps: a broken overlay does not matter to other partners",
       rc, err)
    rc, out, err = run("translate", "-M", maps, "-p", "acme-retail", po)
    ok(rc == 78 and out == "" and "partners/acme-retail/850-order-created.map:8:"
       in err and "NO-MAP" in err,
       "lazy maps: ... and is reported for its own partner's documents",
       rc, err)

print("1..%d" % n)
sys.exit(1 if failed else 0)
