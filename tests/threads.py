#!/usr/bin/env python3
"""threads.py: `translate -j N` prints what `translate -j 0` prints (TAP).

With threads, sets are mapped by several workers while the parser goes
on; their effects must still come out in set order.  For each input,
`translate -s -j 0` and `translate -s -j N` (N = 2 and 5) must give the
same exit code, the same stderr (diagnostics and the stats line, timing
removed) and the same events but for each event's id and time (the
receive time, taken per run).  Inputs: the X12 and EDIFACT files of the
shared corpus, generated interchanges (several groups and interchanges,
release characters) and mutants of them, in which syntax errors,
rejected sets, map errors and envelope errors interleave with events.
Also: -j rejects what is not a number of threads.
"""
import os
import random
import re
import subprocess
import sys
import tempfile

edigate = os.environ.get("EDIGATE", "./edigate")
top = os.environ.get("top_srcdir", ".")
shared = os.environ.get("EDIGATE_SHARED", os.path.join(top, "..", "shared"))
corpus = os.path.join(shared, "corpus", "public")
gens = os.path.join(shared, "bench")


def gen(tmp, name, script, args):
    path = os.path.join(tmp, name)
    subprocess.run([sys.executable, os.path.join(gens, script), "-o", path]
                   + args, check=True, capture_output=True)
    return path


def mutate(tmp, src, name, seed, term, sep):
    """Every segment with probability 1/25: dropped, doubled, or one of
    its elements emptied or replaced by letters."""
    rnd = random.Random(seed)
    data = open(src, "rb").read()
    segs = data.split(term)
    out = []
    for s in segs:
        r = rnd.random()
        head = s.lstrip(b"\r\n")[:3]
        envelope = head in (b"ISA", b"UNA", b"UNB")
        if envelope or r > 0.04:
            out.append(s)
            continue
        k = rnd.randrange(4)
        if k == 0:
            continue
        if k == 1:
            out += [s, s]
            continue
        els = s.split(sep)
        if len(els) > 1:
            i = rnd.randrange(1, len(els))
            els[i] = b"" if k == 2 else b"QQQ"
        out.append(sep.join(els))
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(term.join(out))
    return path


def norm_out(b):
    s = b.decode("utf-8", "replace")
    s = re.sub(r'"id":"[0-9a-f-]{36}"', '"id":""', s)
    return re.sub(r'"time":"[0-9T:.Z-]+"', '"time":""', s)


def norm_err(b):
    return re.sub(r" in [0-9.]+ ms$", "", b.decode("utf-8", "replace"),
                  flags=re.M)


def run(path, j):
    p = subprocess.run([edigate, "translate", "-s", "-j", str(j), path],
                       capture_output=True, timeout=300)
    return p.returncode, norm_out(p.stdout), norm_err(p.stderr)


tmp = tempfile.mkdtemp(prefix="edigate-threads.")
inputs = []
for sub in ("x12", "edifact"):
    d = os.path.join(corpus, sub)
    inputs += sorted(os.path.join(d, f) for f in os.listdir(d))
x1 = gen(tmp, "x12_env.x12", "gen_x12.py",
         ["-n", "400", "--seed", "31", "--groups", "3", "--interchanges", "2",
          "--lines-min", "0", "--lines-max", "12"])
e1 = gen(tmp, "orders.edi", "gen_edifact.py",
         ["-n", "300", "--seed", "32", "--groups", "2", "--escape-rate", "2"])
inputs += [x1, e1]
for i in range(3):
    inputs.append(mutate(tmp, x1, "x12_mut%d.x12" % i, 40 + i, b"~", b"*"))
    inputs.append(mutate(tmp, e1, "orders_mut%d.edi" % i, 50 + i, b"'", b"+"))

cases = [(p, j) for p in inputs for j in (2, 5)]
print("1..%d" % (len(cases) + 2))
n = 0
failed = 0
base = {}
for path, j in cases:
    n += 1
    if path not in base:
        base[path] = run(path, 0)
    got = run(path, j)
    want = base[path]
    what = []
    if got[0] != want[0]:
        what.append("exit %d, -j 0 gave %d" % (got[0], want[0]))
    if got[1] != want[1]:
        what.append("stdout differs (%d events, -j 0 gave %d)" %
                    (got[1].count("\n"), want[1].count("\n")))
    if got[2] != want[2]:
        what.append("stderr differs")
    name = os.path.basename(path)
    if what:
        failed += 1
        print("not ok %d - %s -j %d: %s" % (n, name, j, "; ".join(what)))
    else:
        print("ok %d - %s -j %d: %d events, exit %d, same as -j 0" %
              (n, name, j, want[1].count("\n"), want[0]))

# The mutants must exercise what they are for: errors between events.
n += 1
mut = [p for p in inputs if "_mut" in p]
mixed = sum(1 for p in mut if base[p][1].count("\n") > 0 and
            " error " in base[p][2])
if mixed == len(mut):
    print("ok %d - every mutant has events and error diagnostics" % n)
else:
    failed += 1
    print("not ok %d - only %d of %d mutants mix events and errors" %
          (n, mixed, len(mut)))

n += 1
bad = [subprocess.run([edigate, "translate", "-j", v, x1],
                      capture_output=True) for v in ("x", "-1", "17")]
if all(p.returncode == 64 and b"-j" in p.stderr and p.stdout == b""
       for p in bad):
    print("ok %d - -j x, -j -1 and -j 17 are usage errors (64)" % n)
else:
    failed += 1
    print("not ok %d - -j accepted a bad value: %r" %
          (n, [(p.returncode, p.stderr[:80]) for p in bad]))

subprocess.run(["rm", "-rf", tmp])
sys.exit(1 if failed else 0)
