#!/usr/bin/env python3
"""ack.py: the `edigate ack` contract (TAP).

TA1/997/999 printed on stdout for corpus files and fixtures, asserting on
the exact AK segments; the partner's `ack` key choosing 997/999/none; our
identity from the configuration; exit codes 0 / 64 / 65 / 66 / 78.  The
acknowledgements are compared with the time fields (ISA09/10, GS04/05)
masked.
"""
import os
import re
import subprocess
import sys
import tempfile

edigate = os.environ.get("EDIGATE", "./edigate")
top = os.environ.get("top_srcdir", ".")
shared = os.environ.get("EDIGATE_SHARED", os.path.join(top, "..", "shared"))
x12 = os.path.join(shared, "corpus", "public", "x12")
fixtures = os.path.join(top, "tests", "data", "ack")

n = 0
failed = 0


def ok(cond, name, *info):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, name))
    if not cond:
        for i in info:
            for l in str(i).splitlines()[:20]:
                print("#   " + l)
    return cond


def skip(name, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, name, why))


def run(*args):
    p = subprocess.run([edigate] + list(args), capture_output=True)
    return (p.returncode, p.stdout.decode("latin-1"),
            p.stderr.decode("utf-8", "replace"))


def interchanges(out):
    """The acknowledgement interchanges of out, each a list of segments
    (joined with '*'), with the ISA/GS times masked; None when out is not
    a sequence of whole interchanges."""
    res = []
    p = 0
    while p < len(out):
        while p < len(out) and out[p] in "\r\n":
            p += 1
        if p >= len(out):
            break
        if not out.startswith("ISA", p) or len(out) < p + 106:
            return None
        es, term = out[p + 3], out[p + 105]
        segs = []
        while True:
            q = out.find(term, p)
            if q < 0:
                return None
            e = out[p:q].strip("\r\n").split(es)
            p = q + 1
            if e[0] == "ISA" and len(e) > 10:
                e[9], e[10] = "YYMMDD", "HHMM"
            if e[0] == "GS" and len(e) > 5:
                e[4], e[5] = "DATE", "HHMM"
            segs.append("*".join(e))
            if e[0] == "IEA":
                break
        res.append(segs)
    return res


def segments(out):
    """All segments of all interchanges of out."""
    return [s for ic in (interchanges(out) or []) for s in ic]


def corpus(name):
    p = os.path.join(x12, name)
    return p if os.path.exists(p) else None


def ack_of(path, *opts):
    return run("ack", *(list(opts) + [path]))


def ak(segs):
    """From AK1 to before SE, joined by '~' (all 997/999s)."""
    return "~".join(s for s in segs if re.match(r"^(AK[1-9]|IK[345])\*", s))


# -- usage ----------------------------------------------------------------
rc, out, err = run("ack", "--help")
ok(rc == 0 and out.startswith("usage: edigate ack"), "--help on stdout, 0",
   rc, out, err)
rc, out, err = run("ack")
ok(rc == 64 and "usage" in err, "no file: usage, 64", rc, err)
rc, out, err = run("ack", "-x", "f")
ok(rc == 64, "unknown option: 64", rc, err)
rc, out, err = run("ack", "/nonexistent/file.edi")
ok(rc == 66 and out == "", "unreadable file: 66", rc, err)

# -- corpus -----------------------------------------------------------------
f = corpus("not-edi_garbage.edi")
if f:
    rc, out, err = ack_of(f)
    ok(rc == 65 and out == "" and "NOT-EDI" in err,
       "not EDI: 65, nothing printed, NOT-EDI on stderr", rc, out, err)

f = corpus("850_4010_pipe-terminator_tilde-component_CRLF-indented.edi")
if f:
    rc, out, err = ack_of(f)
    s = segments(out)
    ok(rc == 0 and out.count("|") >= 10 and "~" not in out.replace(
        "*~|", ""), "'|' terminator and '~' component kept", rc, out)
    ok(s[:2] == ["ISA*00*          *00*          *01*001903202U     *01*"
                 "828513080      *YYMMDD*HHMM*U*00400*000000001*0*P*~",
                 "GS*FA*001903202U*828513080*DATE*HHMM*1*X*004010"],
       "ISA/GS: receiver and sender swapped, ids padded", s)
    ok(ak(s) == "AK1*PO*245~AK2*850*0001~AK5*A~AK9*A*1*1*1",
       "valid 850: AK5 A, AK9 A 1 1 1", s)
    ok(s[-3:] == ["SE*6*0001", "GE*1*1", "IEA*1*000000001"],
       "SE01, GE01, IEA01", s)

f = corpus("855_4010_two-ST_CRLF-indented.edi")
if f:
    rc, out, err = ack_of(f)
    ok(ak(segments(out)) == "AK1*PR*76417~AK2*855*0001~AK5*A~AK2*855*0002~"
       "AK5*A~AK9*A*2*2*2", "two 855s: two AK2 loops, AK9 A 2 2 2", out)

f = corpus("850_two-interchanges_duplicate-ICN.edi")
if f:
    rc, out, err = ack_of(f)
    s = segments(out)
    ok(s.count("IEA*1*000000001") == 1 and "IEA*1*000000002" in s,
       "two interchanges: two acknowledgements, ISA13 runs on", s)
    ok("TA1*000003438*101127*1719*E*025" in s,
       "duplicate ISA13: TA1 E 025 (accepted, noted)", s)

f = corpus("940_envelope-control-number-mismatch.edi")
if f:
    rc, out, err = ack_of(f)
    s = segments(out)
    ok(rc == 0 and "TA1*000003438*101127*1719*R*001" in s and
       not any(x.startswith("GS") for x in s),
       "IEA control mismatch: TA1 R 001, no 997", s, err)

f = corpus("850_4010_BOM_NBSP-in-ISA_IEA-mismatch.edi")
if f:
    rc, out, err = ack_of(f)
    s = segments(out)
    ok(len(s) == 3 and s[0].startswith("ISA*00*          *00*          *"
       "ZZ*PARTNERID      *01*000123456      *") and
       s[1] == "TA1*000000055*090827*0936*R*011",
       "NBSP in ISA fields: TA1 R 011, ids cleaned and padded", s)

f = corpus("810-850_two-groups_GS-003010-in-00401.edi")
if f:
    rc, out, err = ack_of(f)
    s = segments(out)
    gs = [x for x in s if x.startswith("GS*")]
    ok(len(gs) == 2 and gs[0].endswith("*X*004010") and
       gs[1].endswith("*X*003010") and "IEA*2*000000001" in s,
       "groups of two versions: one FA group each, versioned to GS08", s)
    ok("AK2*810*000000001~AK5*R*1" in ak(s),
       "a set no map takes: AK5 R 1 (not supported)", s)

f = corpus("856_00406_dash-repetition-separator_SOI.edi")
if f:
    rc, out, err = ack_of(f)
    s = ak(segments(out))
    ok("AK4*3**12*311390020" in s and s.endswith("AK5*E*5~AK9*E*1*1*1"),
       "'-' repetition separator in data: AK403 12, accepted with errors "
       "(E), separator left out of AK404", s)

for name in ("997_005010_rejected-837.edi", "999_005010X231_BOM_CRLF-indented.edi",
             "TA1_interchange-ack-only.edi"):
    f = corpus(name)
    if f is None:
        continue
    rc, out, err = ack_of(f)
    if name.startswith("TA1"):
        ok(rc == 0 and not any(x.startswith("GS") for x in segments(out)),
           "%s: acknowledgements are not acknowledged" % name, out, err)
    else:
        ok(rc == 0 and out == "" and "no acknowledgement due" in err,
           "%s: an FA group gets no 997, exit 0" % name, rc, out, err)

# -- fixtures -----------------------------------------------------------------
f = os.path.join(fixtures, "850_good-and-bad.edi")
rc, out, err = ack_of(f)
s = segments(out)
ok(rc == 0 and s[1] == "TA1*000000101*240101*1200*A*000",
   "ISA14 = 1: TA1 A 000 right after the ISA", s)
a = ak(s)
ok(a.startswith("AK1*PO*7~AK2*850*0001~AK5*A~AK2*850*0002~") and
   a.endswith("AK5*R*4*5~AK9*P*2*2*1") and "AK3*BEG*2**" in a,
   "one good and one bad set (SE count, BEG error): AK9 P 2 2 1", a)
DIAG = re.compile(r"^[^:]+: (segment \d+ \([A-Z0-9]+\)(, element \d\d(-\d\d)?)?: )?"
                  r"(error|warning) [A-Z0-9-]+: .+$")
ok("X12-SE-COUNT" in err and all(DIAG.match(l) for l in err.splitlines()),
   "diagnostics on stderr in the translate format", err)

with tempfile.TemporaryDirectory() as d:
    os.mkdir(os.path.join(d, "partners.d"))
    with open(os.path.join(d, "edigate.ini"), "w") as fp:
        fp.write("[gateway]\nstate_dir = state\npartners_dir = partners.d\n"
                 "[identity]\nx12_id = 01:123456789\n")
    with open(os.path.join(d, "partners.d", "acme.ini"), "w") as fp:
        fp.write("[partner]\nx12_id = ZZ:ACME\nack = 999\n")
    with open(os.path.join(d, "partners.d", "quiet.ini"), "w") as fp:
        fp.write("[partner]\nx12_id = ZZ:QUIET\nack = none\n")
    conf = os.path.join(d, "edigate.ini")

    f5 = os.path.join(fixtures, "850_5010_bang_GE-control.edi")
    rc, out, err = ack_of(f5, "-c", conf)
    s = segments(out)
    ok(rc == 0 and out.count("!") == len(s) and "~" not in out,
       "'!' terminated input: '!' terminated acknowledgement", out)
    ok(s[0].startswith("ISA*00*          *00*          *01*123456789      "
       "*ZZ*ACME           *") and s[0].endswith("*^*00501*000000001*0*T*:"),
       "our identity from [identity]; ISA11/12/15/16 like the inbound", s)
    ok(s[1].endswith("*X*005010X231") and s[2] == "ST*999*0001*005010X231",
       "partner ack = 999, 005010 inbound: a 999 (005010X231)", s)
    a = ak(s)
    ok(a.startswith("AK1*PO*8*005010~AK2*850*0001~") and
       a.endswith("~AK9*R*1*1*0*4") and "IK5*" in a,
       "999: IK5, GE control mismatch: AK9 R with AK905 4", a)

    rc, out, err = ack_of(os.path.join(fixtures, "850_good-and-bad.edi"),
                          "-c", conf)
    s = segments(out)
    ok(any(x.startswith("ST*997*") for x in s),
       "partner ack = 999 but 004010 inbound: a 997", s)

    rc, out, err = ack_of(f5, "-c", conf, "-p", "quiet")
    ok(rc == 0 and out == "" and "ack = none" in err,
       "-p with ack = none and no TA1 due: nothing, exit 0", rc, out, err)
    rc, out, err = ack_of(f5, "-c", conf, "-p", "nobody")
    ok(rc == 78, "-p naming no configured partner: 78", rc, err)

# -- robustness: every X12 file of the corpus -------------------------------
if os.path.isdir(x12):
    bad = []
    files = sorted(os.listdir(x12))
    for name in files:
        rc, out, err = ack_of(os.path.join(x12, name))
        good = rc in (0, 65) and interchanges(out) is not None
        if not good:
            bad.append("%s: rc %d %s" % (name, rc, out[:80]))
    ok(not bad, "all %d corpus files: exit 0/65, whole interchanges"
       % len(files), *bad[:10])
else:
    skip("corpus", "no corpus at " + x12)

print("1..%d" % n)
sys.exit(1 if failed else 0)
