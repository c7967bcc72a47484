#!/usr/bin/env python3
"""pgo_train.py EDIGATE MAPTESTS WORK: the training run of --enable-pgo.

An edigate built with -fprofile-generate runs here, and the counts it
leaves (*.gcda beside the objects) tell gcc which paths are hot when it
compiles the shipped build (docs/performance.md, "Profile-guided
optimisation").  The work must look like a day's traffic, so it is made
from the golden cases of the shipped maps (maps/tests): every X12 and
EDIFACT case's transaction sets or messages repeated, with their control
numbers renumbered, into one interchange of about 1 MB each, so that the
per-set paths weigh what they weigh in a large file, and then translated
and acknowledged on one thread and with the pool.  Every golden case (XML
included) is also translated once as it is.

Not a test: edigate's exit codes are not checked (half the golden cases
are rejected on purpose); a failure to run it, or a crash, stops the
build.
"""
import os
import subprocess
import sys

TARGET = 1 << 20	# bytes per generated interchange


def segments(data, term, strip):
    out = []
    for s in data.split(term):
        s = s.strip(strip)
        if s:
            out.append(s)
    return out


def units(segs, es, head, trailer):
    """The sets (ST..SE) or messages (UNH..UNT) among segs."""
    out, cur = [], None
    for s in segs:
        tag = s.split(es, 1)[0]
        if tag == head:
            cur = [s]
        elif cur is not None:
            cur.append(s)
            if tag == trailer:
                out.append(cur)
                cur = None
    return out


def repeat(sets, es, at, fmt):
    """The units (sets or messages, lists of segments) over and over to
    TARGET bytes, the n-th with element at[tag] of its segments tagged so
    set to fmt % n (a control number or message reference): (segments, n).
    """
    body, n, size = [], 0, 0
    while size < TARGET:
        for unit in sets:
            n += 1
            for s in unit:
                e = s.split(es)
                k = at.get(e[0])
                if k is not None and len(e) > k:
                    e[k] = fmt % n
                body.append(es.join(e))
                size += len(body[-1]) + 1
    return body, n


def x12(data):
    """One interchange of the case's sets repeated, or None."""
    if not data.startswith(b"ISA") or len(data) < 106:
        return None
    es, term = data[3:4], data[105:106]
    segs = segments(data, term, b"\r\n ")
    isa = [s for s in segs if s.startswith(b"ISA" + es)]
    gs = [s for s in segs if s.startswith(b"GS" + es)]
    sets = units(segs, es, b"ST", b"SE")
    if not isa or not gs or not sets:
        return None
    ie = isa[0].split(es)
    ie[13] = b"%09d" % 1
    ge = gs[0].split(es)
    ge[6] = b"1"
    body, n = repeat(sets, es, {b"ST": 2, b"SE": 2}, b"%04d")
    seg = [es.join(ie), es.join(ge)] + body + [
        es.join([b"GE", b"%d" % n, b"1"]),
        es.join([b"IEA", b"1", ie[13]])]
    return term.join(seg) + term + b"\n"


def edifact(data):
    """One interchange of the case's messages repeated, or None."""
    una = b""
    es, rc, term = b"+", b"?", b"'"
    if data.startswith(b"UNA"):
        una = data[:9]
        es, rc, term = una[4:5], una[6:7], una[8:9]
        data = data[9:]
    # an escaped terminator would split a segment in two: leave such cases
    if rc + term in data or b"UNG" + es in data:
        return None
    segs = segments(data, term, b"\r\n ")
    unb = [s for s in segs if s.startswith(b"UNB" + es)]
    msgs = units(segs, es, b"UNH", b"UNT")
    if not unb or not msgs:
        return None
    be = unb[0].split(es)
    if len(be) < 6:
        return None
    be[5] = b"PGO1"
    body, n = repeat(msgs, es, {b"UNH": 1, b"UNT": 2}, b"M%d")
    seg = [es.join(be)] + body + [es.join([b"UNZ", b"%d" % n, b"PGO1"])]
    return una + term.join(seg) + term + b"\n"


def run(argv):
    """edigate's exit code is not checked, but a crash stops the build."""
    r = subprocess.run(argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    if r.returncode < 0:
        sys.exit("pgo_train.py: %s killed by signal %d" %
                 (" ".join(argv), -r.returncode))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: pgo_train.py EDIGATE MAPTESTS WORK")
    edigate, tests, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    made, cases = [], []
    for d in sorted(os.listdir(tests)):
        p = os.path.join(tests, d)
        if not os.path.isdir(p):
            continue
        for f in sorted(os.listdir(p)):
            if f.endswith((".edi", ".xml")):
                cases.append(os.path.join(p, f))
    for c in cases:
        with open(c, "rb") as fh:
            data = fh.read()
        big = x12(data) if data.startswith(b"ISA") else \
            edifact(data) if data.startswith((b"UNA", b"UNB")) else None
        if big is not None:
            out = os.path.join(work, "%d.edi" % len(made))
            with open(out, "wb") as fh:
                fh.write(big)
            made.append(out)
    if not made:
        sys.exit("pgo_train.py: no X12 or EDIFACT case in " + tests)
    for c in cases:
        run([edigate, "translate", c])
    for f in made:
        run([edigate, "translate", "-j", "1", f])
        run([edigate, "translate", "-j", "2", f])
        run([edigate, "ack", f])
    print("pgo_train.py: %d cases, %d generated interchanges" %
          (len(cases), len(made)))


if __name__ == "__main__":
    main()
