#!/usr/bin/env python3
"""pool_rss.py: the pool's memory does not grow with large sets (TAP).

A set over the pool's size limit (512 KB) is worked on inline, in the
parser's arena, which keeps its largest chunk for the next set.  Since the
parser's arena is handed to the pool job of the next set (arena_swap),
that chunk ends up held by a job of the ring, and job_trim() judges a job
by the bytes its set used, not by the chunks it holds: with large and
small sets alternating, every large set's chunk stays in a job of the
ring.  Peak RSS with -j 2 must stay within 64 MB of -j 1's.  Skipped
without the shared generators.
"""
import os
import subprocess
import sys
import tempfile

edigate = os.environ.get("EDIGATE", "./edigate")
top = os.environ.get("top_srcdir", ".")
shared = os.environ.get("EDIGATE_SHARED", os.path.join(top, "..", "shared"))
gen = os.path.join(shared, "bench", "gen_x12.py")


def peak_rss(args):
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen([edigate] + args, stdout=null, stderr=null)
        _, status, ru = os.wait4(p.pid, 0)
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss


if not os.path.exists(gen):
    print("1..0 # SKIP no shared generators at " + gen)
    sys.exit(0)
with open(edigate, "rb") as f:
    if b"__asan_init" in f.read():
        print("1..0 # SKIP AddressSanitizer build: its quarantine decides "
              "the peak")
        sys.exit(0)
tmp = tempfile.mkdtemp(prefix="edigate-poolrss.")
big, small = os.path.join(tmp, "big.x12"), os.path.join(tmp, "small.x12")
subprocess.run([sys.executable, gen, "-n", "1", "--seed", "5", "--lines-min",
                "8000", "--lines-max", "8000", "-o", big], check=True)
subprocess.run([sys.executable, gen, "-n", "3", "--seed", "6", "--lines-min",
                "1", "--lines-max", "3", "-o", small], check=True)
path = os.path.join(tmp, "alternating.x12")
with open(path, "wb") as out:
    b, s = open(big, "rb").read(), open(small, "rb").read()
    out.write((b + s) * 40)

print("1..1")
rc1, one = peak_rss(["translate", "-j", "1", path])
rc2, two = peak_rss(["translate", "-j", "2", path])
if rc1 == rc2 == 0 and two <= one + 64 * 1024:
    print("ok 1 - large and small sets alternating: %d KB with -j 2, %d KB "
          "with -j 1" % (two, one))
else:
    print("not ok 1 - large and small sets alternating: %d KB with -j 2 "
          "(exit %d), %d KB with -j 1 (exit %d)" % (two, rc2, one, rc1))
for p in (big, small, path):
    os.unlink(p)
os.rmdir(tmp)
