#!/usr/bin/env python3
"""threads.py: `translate -j N` prints what `translate -j 0` prints (TAP).

With threads, sets are mapped by several workers while the parser goes
on; their effects must still come out in set order.  For each input,
`translate -s -j 0` and `translate -s -j N` (N = 2 and 5) must give the
same exit code, the same stderr (diagnostics and the stats line, timing
removed) and the same events but for each event's id and time (the
receive time, taken per run).  Inputs: the X12 and EDIFACT files of the
shared corpus, generated interchanges (several groups and interchanges,
release characters), mutants of them, in which syntax errors, rejected
sets, map errors and envelope errors interleave with events, and sets of
up to 12,000 lines, some too large for the pool, translated with a
partner configuration (a time zone).  Also: the same exit code and stderr
when standard output fails (/dev/full), peak memory with threads within
64 MB of one thread's on the large sets, and -j rejecting what is not a
number of threads.  Skipped without the shared corpus.
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
    return re.sub(r" in [0-9.]+ ms, [0-9.]+ ms of CPU$", "",
                  b.decode("utf-8", "replace"), flags=re.M)


def run(path, j, extra=()):
    p = subprocess.run([edigate, "translate", "-s", "-j", str(j)] +
                       list(extra) + [path], capture_output=True, timeout=300)
    return p.returncode, norm_out(p.stdout), norm_err(p.stderr)


def peak_rss(args):
    """Peak RSS in KB of edigate ARGS, its output thrown away."""
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen([edigate] + args, stdout=null, stderr=null)
        _, _, ru = os.wait4(p.pid, 0)
    return ru.ru_maxrss


if not os.path.isdir(corpus) or not os.path.isdir(gens):
    print("1..0 # SKIP no shared corpus at " + shared)
    sys.exit(0)
tmp = tempfile.mkdtemp(prefix="edigate-threads.")
conf = os.path.join(tmp, "edigate.ini")
os.mkdir(os.path.join(tmp, "partners.d"))
with open(conf, "w") as f:
    f.write("[gateway]\npartners_dir = partners.d\n")
with open(os.path.join(tmp, "partners.d", "peer.ini"), "w") as f:
    f.write("[partner]\nx12_id = ZZ:PEERSENDER\n"
            "timezone = America/New_York\n")
inputs = []
for sub in ("x12", "edifact"):
    d = os.path.join(corpus, sub)
    inputs += sorted(os.path.join(d, f) for f in os.listdir(d))
x1 = gen(tmp, "x12_env.x12", "gen_x12.py",
         ["-n", "400", "--seed", "31", "--groups", "3", "--interchanges", "2",
          "--lines-min", "0", "--lines-max", "12"])
e1 = gen(tmp, "orders.edi", "gen_edifact.py",
         ["-n", "300", "--seed", "32", "--groups", "2", "--escape-rate", "2"])
# 150 interchanges of two groups: envelope ends queued among the sets
x2 = gen(tmp, "x12_many.x12", "gen_x12.py",
         ["-n", "400", "--seed", "34", "--groups", "2", "--interchanges",
          "150", "--lines-min", "0", "--lines-max", "6"])
inputs += [x1, e1, x2]
# EDIFACT without groups: the parser offers its messages to the workers,
# which parse them themselves (edifact.h).  CR LF between segments; several
# interchanges, each read its own way (a UNA with other delimiters and
# release character, UNOA, UNOY in syntax 4, UNOD through iconv, which is
# not offered); messages too large to be offered.
e2 = gen(tmp, "orders_nogrp.edi", "gen_edifact.py",
         ["-n", "300", "--seed", "36", "--escape-rate", "2",
          "--newline", "crlf"])
parts = [
    ["-n", "120", "--seed", "37", "--icref", "11"],
    ["-n", "120", "--seed", "38", "--icref", "12", "--release", "#",
     "--element-sep", "*", "--component-sep", ">", "--segment-term", "~",
     "--escape-rate", "1"],
    ["-n", "120", "--seed", "39", "--icref", "13", "--syntax", "UNOA"],
    ["-n", "120", "--seed", "40", "--icref", "14", "--syntax", "UNOY",
     "--encoding", "utf-8", "--syntax-version", "4"],
    ["-n", "60", "--seed", "41", "--icref", "15", "--syntax", "UNOD",
     "--ascii"],
]
e3 = os.path.join(tmp, "orders_ics.edi")
with open(e3, "wb") as f:
    for i, args in enumerate(parts):
        with open(gen(tmp, "ic%d.edi" % i, "gen_edifact.py", args),
                  "rb") as g:
            f.write(g.read())
e4 = gen(tmp, "orders_big.edi", "gen_edifact.py",
         ["-n", "30", "--seed", "42", "--lines-min", "0",
          "--lines-max", "9000"])
inputs += [e2, e3, e4]
for i in range(3):
    inputs.append(mutate(tmp, e2, "orders_nogrp_mut%d.edi" % i, 70 + i,
                         b"'", b"+"))
inputs.append(mutate(tmp, e3, "orders_ics_mut.edi", 73, b"'", b"+"))
for i in range(3):
    inputs.append(mutate(tmp, x1, "x12_mut%d.x12" % i, 40 + i, b"~", b"*"))
    inputs.append(mutate(tmp, e1, "orders_mut%d.edi" % i, 50 + i, b"'", b"+"))
inputs.append(mutate(tmp, x2, "x12_many_mut.x12", 60, b"~", b"*"))

big = gen(tmp, "x12_big.x12", "gen_x12.py",
          ["-n", "40", "--seed", "33", "--lines-min", "0",
           "--lines-max", "12000"])
extra = {big: ("-c", conf), x1: ("-c", conf)}
inputs.append(big)
# measured first, while this process is small: a child's peak counts it
with open(edigate, "rb") as f:
    asan = b"__asan_init" in f.read()
one = peak_rss(["translate", "-j", "1", big])
two = peak_rss(["translate", "-j", "4", big])

cases = [(p, j) for p in inputs for j in (2, 5)]
print("1..%d" % (len(cases) + 5))
n = 0
failed = 0
base = {}
for path, j in cases:
    n += 1
    x = extra.get(path, ())
    if path not in base:
        base[path] = run(path, 0, x)
    got = run(path, j, x)
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

# Standard output fails: the same message and exit code.
n += 1
full = []
for j in (0, 2):
    with open("/dev/full", "wb") as out:
        p = subprocess.run([edigate, "translate", "-j", str(j), x1],
                           stdout=out, stderr=subprocess.PIPE, timeout=300)
    full.append((p.returncode, p.stderr))
if full[0] == full[1] and full[0][0] == 74:
    print("ok %d - stdout on /dev/full: exit 74 and the same stderr with -j 2"
          % n)
else:
    failed += 1
    print("not ok %d - stdout on /dev/full: -j 0 %r, -j 2 %r" %
          (n, full[0], full[1]))

# Two files, events to a file and diagnostics to a pipe, without -s: the
# same stderr as -j 0, so each file's diagnostics come before the next
# file's, also those that waited for a block of events held while the
# input was hashed (cmd_translate.c, print_diag).
n += 1
x1b = os.path.join(tmp, "x12_env_again.x12")
with open(x1, "rb") as f, open(x1b, "wb") as g:
    g.write(f.read())
two_files = []
for j in (0, 2):
    with open(os.path.join(tmp, "events.out"), "wb") as out:
        p = subprocess.run([edigate, "translate", "-j", str(j), x1, x1b],
                           stdout=out, stderr=subprocess.PIPE, timeout=300)
    two_files.append((p.returncode, p.stderr,
                      os.path.getsize(os.path.join(tmp, "events.out"))))
if two_files[0] == two_files[1] and two_files[0][1].count(b"\n") > 2:
    print("ok %d - two files to a file: the same stderr with -j 2, %d "
          "lines" % (n, two_files[0][1].count(b"\n")))
else:
    failed += 1
    print("not ok %d - two files to a file: -j 0 %r, -j 2 %r" %
          (n, two_files[0][:1] + two_files[0][2:],
           two_files[1][:1] + two_files[1][2:]))

# The pool holds a bounded number of bytes, not of sets.
n += 1
if asan:
    print("ok %d - peak RSS # SKIP AddressSanitizer build: its quarantine "
          "decides the peak" % n)
elif two <= one + 64 * 1024:
    print("ok %d - peak RSS on sets of up to 12,000 lines: %d KB with -j 4, "
          "%d KB with -j 1" % (n, two, one))
else:
    failed += 1
    print("not ok %d - peak RSS %d KB with -j 4, %d KB with -j 1" %
          (n, two, one))

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
