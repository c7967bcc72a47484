#!/usr/bin/env python3
"""corpus.py: every file of ../shared/corpus/public/<syntax>/ listed in
EXPECT.tsv gives the exit code, event types, subjects and line counts it
lists (TAP).

For an exit-0 file the events must match the lists exactly.  For an
exit-65 file the lists name the documents that may still be printed, so the
printed events must be those documents, in order, minus the rejected ones;
and a rejection must come with at least one error diagnostic on stderr.
Usage: corpus.py SYNTAX...   (x12, edifact, cxml, xml)
"""
import json
import os
import subprocess
import sys

edigate = os.environ.get("EDIGATE", "./edigate")
shared = os.environ.get("EDIGATE_SHARED",
                        os.path.join(os.environ.get("top_srcdir", "."), "..", "shared"))
corpus = os.path.join(shared, "corpus")
syntaxes = sys.argv[1:] or ["x12"]

rows = []
with open(os.path.join(corpus, "EXPECT.tsv"), encoding="utf-8") as f:
    header = f.readline().rstrip("\n").split("\t")
    for line in f:
        r = dict(zip(header, line.rstrip("\n").split("\t")))
        if r["path"].split("/")[1] in syntaxes:
            rows.append(r)

def split(v):
    return [] if v == "-" else v.split(",")

def subseq(got, want):
    """got is want with some elements left out (order kept)."""
    i = 0
    for g in got:
        while i < len(want) and not g_match(g, want[i]):
            i += 1
        if i == len(want):
            return False
        i += 1
    return True

def g_match(g, w):
    t, s, n = g
    wt, ws, wn = w
    return (t == wt and (ws == "?" or s in ws.split("|"))
            and (wn == "?" or str(n) == wn))

n = 0
failed = 0
print("1..%d" % len(rows))
for r in rows:
    n += 1
    path = os.path.join(corpus, r["path"])
    p = subprocess.run([edigate, "translate", path], capture_output=True)
    problems = []
    events = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        try:
            ev = json.loads(line)
        except ValueError as e:
            problems.append("stdout line is not JSON: %s" % e)
            continue
        doc = ev.get("data", {}).get("document", {})
        events.append((ev.get("type"), ev.get("subject"),
                       len(doc.get("lines", []))))
    stderr = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0 or p.returncode not in (0, 65):
        problems.append("exit %d (crash or usage?)" % p.returncode)
    allowed = [int(x) for x in r["expected_exit"].split("|")]
    if p.returncode not in allowed:
        problems.append("exit %d, want %s" % (p.returncode, r["expected_exit"]))
    want = list(zip(split(r["types"]), split(r["subjects"]) or [],
                    split(r["lines"]) or []))
    if p.returncode == 0:
        if len(events) != len(want) or not all(
                g_match(g, w) for g, w in zip(events, want)):
            problems.append("events %s, want %s" % (events, want))
    elif p.returncode == 65:
        if not subseq(events, want):
            problems.append("events %s not among %s" % (events, want))
        if " error " not in stderr:
            problems.append("rejected without an error diagnostic")
    if problems:
        failed += 1
        print("not ok %d - %s" % (n, r["path"]))
        for pr in problems:
            print("#   " + pr)
        for l in stderr.splitlines()[:8]:
            print("#   stderr: " + l)
    else:
        print("ok %d - %s: exit %d, %d event(s)" % (n, r["path"], p.returncode,
                                                   len(events)))
sys.exit(1 if failed else 0)
