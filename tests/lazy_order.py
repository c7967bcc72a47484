#!/usr/bin/env python3
"""lazy_order.py: a lazily compiled map's errors come where -j 1 has them (TAP).

translate compiles a map when a document first selects it, on the caller's
thread, and prints its compile errors there (catalog_load_lazy's report,
edigate(1): "printed once, where it happened").  With -j N the documents
before it may still be in the pool, their diagnostics not printed yet:
the compile errors then come first, and stderr differs from -j 1's, which
threads.py requires to be the same.  Input: one interchange of 40 ORDERS
(each with tree diagnostics, none from the parser, so nothing drains the
pool) and a DESADV whose map does not compile.
"""
import os
import re
import shutil
import subprocess
import tempfile

edigate = os.environ.get("EDIGATE", "./edigate")
top = os.environ.get("top_srcdir", ".")
maps = os.environ.get("EDIGATE_MAPS", os.path.join(top, "maps"))

tmp = tempfile.mkdtemp(prefix="edigate-lazyorder.")
parts = ["UNA:+.?*'", "UNB+UNOA:2+SENDER:14+RECEIVER:14+140407:0910+0001'"]
for k in range(1, 41):
    parts += ["UNH+%03d+ORDERS:D:96A:UN:EAN001'" % k, "BGM+220+PO%d+9'" % k,
              "UNT+3+%03d'" % k]
parts += ["UNH+041+DESADV:D:96A:UN:EAN001'", "BGM+351+20171229'",
          "UNT+3+041'", "UNZ+41+0001'"]
path = os.path.join(tmp, "mixed.edi")
with open(path, "w") as f:
    f.write("\n".join(parts) + "\n")
bmaps = os.path.join(tmp, "maps")
shutil.copytree(maps, bmaps)
m = os.path.join(bmaps, "edifact", "desadv-shipment-noticed.map")
text, n = re.subn(r"^(lookup agency .*on-miss) warn", r"\1 warnx",
                  open(m).read(), count=1, flags=re.M)
open(m, "w").write(text)

print("1..1")
got = {}
for j in (1, 3):
    p = subprocess.run([edigate, "translate", "-j", str(j), "-M", bmaps,
                        path], capture_output=True, timeout=120)
    got[j] = (p.returncode, p.stderr.decode("utf-8", "replace"))
if n == 1 and got[1] == got[3] and got[1][0] == 78:
    print("ok 1 - compile errors of a lazily compiled map: same stderr "
          "with -j 3 as with -j 1")
else:
    where = {j: [i for i, line in enumerate(got[j][1].splitlines(), 1)
                 if "warnx" in line] for j in got}
    print("not ok 1 - compile errors of a lazily compiled map: -j 1 exit "
          "%d, line %s of stderr; -j 3 exit %d, line %s" %
          (got[1][0], where[1], got[3][0], where[3]))
shutil.rmtree(tmp)
