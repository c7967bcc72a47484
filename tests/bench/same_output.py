#!/usr/bin/env python3
"""same_output.py BASE NEW: do two edigate binaries translate alike?

The check behind every speed change (docs/performance.md): a faster
translator must print the same events, the same diagnostics and the same
acknowledgements as the one before it, for good input and bad.  For each
input below, `translate` (exit code, stdout, stderr) and `ack` (exit code,
stdout and stderr) of BASE and NEW must be byte for byte the same, except
the event id, the event time and the acknowledgements' date and time.

Inputs, all deterministic (written under WORK, default
$EDIGATE_PEERS_WORK/same-output, or /tmp/edigate-peers/same-output):
  - every X12, EDIFACT, cXML and XML file of ../shared/corpus;
  - generated interchanges (../shared/bench generators): X12 850s with
    other delimiters, several groups and interchanges, CR LF and control
    characters; 856 ship notices; EDIFACT ORDERS with other separators and
    release character, no UNA, groups, decimal comma, UNOA and UNOY;
  - byte mutants of the corpus (a byte dropped, inserted, replaced or a
    delimiter planted) and segment mutants of the corpus and of the
    generated files (a segment dropped, repeated elsewhere or swapped; an
    element emptied, replaced by a qualifier or a number, dropped, doubled,
    or swapped with another; about half the elements of one
    segment, or all but its last two, emptied;
    components and trailing elements added).

Each binary must live in a build tree (it finds the maps beside itself),
or pass the maps with -M: EDIGATE_MAPS is honoured by both.  Exit 0 when
nothing differs, 1 otherwise (each differing input is named).

Usage: same_output.py [--quick] BASE_EDIGATE NEW_EDIGATE
       --quick: the corpus and the byte mutants only.
"""
import glob
import os
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

top = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
shared = os.environ.get("EDIGATE_SHARED", os.path.join(top, "..", "shared"))
corpus = os.path.join(shared, "corpus", "public")
gens = os.path.join(shared, "bench")
work = os.path.join(os.environ.get("EDIGATE_PEERS_WORK", "/tmp/edigate-peers"),
                    "same-output")

GENERATED = [
    ("x12_bars.x12", "gen_x12.py", ["-n", "300", "--seed", "11",
     "--element-sep", "|", "--component-sep", ">", "--segment-term", "\\n",
     "--repetition-sep", "!"]),
    ("x12_groups.x12", "gen_x12.py", ["-n", "300", "--seed", "12",
     "--newline", "crlf", "--groups", "3", "--interchanges", "2"]),
    ("x12_ctrl.x12", "gen_x12.py", ["-n", "300", "--seed", "13",
     "--element-sep", "hex:1d", "--segment-term", "hex:1c",
     "--component-sep", "hex:1f"]),
    ("x12_lines.x12", "gen_x12.py", ["-n", "200", "--seed", "14",
     "--lines-min", "0", "--lines-max", "40", "--newline", "lf"]),
    ("asn_crlf.x12", "gen_856.py", ["-n", "200", "--seed", "15",
     "--newline", "crlf"]),
    ("asn.x12", "gen_856.py", ["-n", "200", "--seed", "16"]),
    ("orders_seps.edi", "gen_edifact.py", ["-n", "300", "--seed", "21",
     "--component-sep", ">", "--element-sep", "*", "--release", "#",
     "--segment-term", "~"]),
    ("orders_nouna.edi", "gen_edifact.py", ["-n", "300", "--seed", "22",
     "--no-una", "--newline", "crlf"]),
    ("orders_groups.edi", "gen_edifact.py", ["-n", "300", "--seed", "23",
     "--groups", "2", "--decimal", ",", "--escape-rate", "1"]),
    ("orders_unoa.edi", "gen_edifact.py", ["-n", "300", "--seed", "24",
     "--syntax", "UNOA", "--ascii", "--syntax-version", "4"]),
    ("orders_unoy.edi", "gen_edifact.py", ["-n", "200", "--seed", "25",
     "--encoding", "utf-8", "--syntax", "UNOY", "--syntax-version", "4"]),
]


def corpus_files():
    out = []
    for kind in ("x12", "edifact", "cxml", "xml"):
        out += [f for f in glob.glob(os.path.join(corpus, kind, "**", "*"),
                                     recursive=True) if os.path.isfile(f)]
    return sorted(out)


def generate():
    d = os.path.join(work, "gen")
    os.makedirs(d, exist_ok=True)
    out = []
    for name, script, args in GENERATED:
        path = os.path.join(d, name)
        if not os.path.exists(path):
            subprocess.run([sys.executable, os.path.join(gens, script)] +
                           args + ["-o", path], check=True,
                           stdout=subprocess.DEVNULL)
        out.append(path)
    return out


def byte_mutants(srcs, d):
    """Up to four byte edits each, twelve mutants per file."""
    rnd = random.Random(7)
    out = []
    for s in srcs:
        b = open(s, "rb").read()
        for _ in range(12):
            m = bytearray(b)
            for _ in range(rnd.randint(1, 4)):
                if not m:
                    break
                i = rnd.randrange(len(m))
                op = rnd.randrange(5)
                if op == 0:
                    del m[i]
                elif op == 1:
                    m.insert(i, rnd.choice(b"*~:^+'?0A \r\n\xc3"))
                elif op == 2:
                    m[i] = rnd.randrange(256)
                elif op == 3:
                    m[i:i] = m[max(0, i - 30):i]
                else:
                    m[i] = rnd.choice(b"*~:^+'?")
            out.append(bytes(m))
    return write_all(out, d, "b")


def delims(b):
    """Element separator, segment terminator, component separator."""
    if b.startswith(b"ISA") and len(b) > 105:
        return b[3:4], b[105:106], b[104:105]
    if b.startswith(b"UNA") and len(b) > 8:
        return b[4:5], b[8:9], b[3:4]
    return b"+", b"'", b":"


def seg_mutants(srcs, d, per_file):
    """One to three segment or element edits, per_file(s) mutants each:
    segments repeated, dropped, swapped; elements changed, dropped, added,
    split into components, doubled, swapped or left empty."""
    rnd = random.Random(2026)
    values = [b"", b"ZZ", b"VN", b"BP", b"UP", b"ST", b"BY", b"002", b"0",
              b"-1", b"1.50", b"00012", b"X" * 50]
    out = []
    for s in srcs:
        b = open(s, "rb").read()
        el, term, comp = delims(b)
        segs = b.split(term)
        if len(segs) < 4:
            continue
        body = segs[:400]
        tail = segs[-3:] if len(segs) > 403 else []
        for _ in range(per_file(s)):
            m = list(body)
            for _ in range(rnd.randint(1, 3)):
                i = rnd.randrange(1, len(m))
                f = m[i].split(el)
                op = rnd.randrange(10)
                if op == 0:
                    m.insert(i, m[rnd.randrange(1, len(m))])
                elif op == 1:
                    del m[i]
                elif op == 2 and i + 1 < len(m):
                    m[i], m[i + 1] = m[i + 1], m[i]
                elif op == 3 and len(f) > 1:
                    j = rnd.randrange(1, len(f))
                    f[j] = rnd.choice(values + [f[j] + f[j]])
                    m[i] = el.join(f)
                elif op == 4 and len(f) > 2:
                    del f[rnd.randrange(1, len(f))]
                    m[i] = el.join(f)
                elif op == 5:
                    m[i] += el + rnd.choice([b"", b"A", comp + b"B"])
                elif op == 6 and len(f) > 1:
                    j = rnd.randrange(1, len(f))
                    f[j] += comp + rnd.choice([b"", b"Q", b"12"])
                    m[i] = el.join(f)
                elif op == 7:
                    m[i] = m[i].replace(el, el + el, 1)
                elif op == 8 and len(f) > 2:
                    a, c = rnd.sample(range(1, len(f)), 2)
                    f[a], f[c] = f[c], f[a]
                    m[i] = el.join(f)
                elif op == 9 and len(f) > 3:
                    # elements left empty, as VICS files do (PO1**2*EA):
                    # about half of them, or all but the last two
                    keep = len(f) - 2 if rnd.randrange(2) else None
                    for j in range(1, len(f)):
                        if (j < keep) if keep else rnd.randrange(2):
                            f[j] = b""
                    m[i] = el.join(f)
            out.append(term.join(m + tail))
    return write_all(out, d, "s")


def write_all(blobs, d, prefix):
    os.makedirs(d, exist_ok=True)
    out = []
    for k, blob in enumerate(blobs):
        path = os.path.join(d, "%s%05d" % (prefix, k))
        with open(path, "wb") as f:
            f.write(blob)
        out.append(path)
    return out


EV_ID = re.compile(rb'"id":"[^"]*","type"')
EV_TIME = re.compile(rb'"time":"[^"]*"')


def mask_dates(out):
    """The acknowledgements' own date and time, whatever the delimiters:
    ISA09/ISA10 and GS04/GS05 after each ISA's element separator, UNB's
    S004 after each UNA's separators (and the default + and :)."""
    for el in set(re.findall(rb"ISA(.)", out, re.S)):
        e = re.escape(el)
        out = re.sub(e + rb"(?:\d{2})?\d{6}" + e + rb"\d{4}" + e,
                     el + b"D" + el + b"T" + el, out)
    seps = set(re.findall(rb"UNA(.)(.)", out, re.S)) | {(b":", b"+")}
    for comp, el in seps:
        out = re.sub(re.escape(el) + rb"(?:\d{2})?\d{6}" + re.escape(comp) +
                     rb"\d{4}" + re.escape(el), el + b"D" + comp + b"T" + el,
                     out)
    return out


def run(binary, cmd, path):
    p = subprocess.run([binary, cmd, path], capture_output=True)
    out = p.stdout
    if cmd == "translate":
        out = EV_TIME.sub(b'"time":""', EV_ID.sub(b'"id":"","type"', out))
    else:
        out = mask_dates(out)
    return p.returncode, out, p.stderr


def differs(base, new, path):
    for cmd in ("translate", "ack"):
        if run(base, cmd, path) != run(new, cmd, path):
            return "%s %s" % (cmd, path)
    return None


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    args = [a for a in args if a != "--quick"]
    if len(args) != 2 or any(not os.access(a, os.X_OK) for a in args):
        sys.exit(__doc__.split("\n\n")[-1])
    base, new = (os.path.abspath(a) for a in args)
    cf = corpus_files()
    edi = [f for f in cf if "/cxml/" not in f and "/xml/" not in f and
           os.path.getsize(f) < 200000]
    inputs = cf + byte_mutants(edi, os.path.join(work, "bytes"))
    if not quick:
        gen = generate()
        small = [f for f in edi if os.path.getsize(f) < 60000]
        inputs += gen + seg_mutants(gen + small,
                                    os.path.join(work, "segments"),
                                    lambda s: 40 if s in gen else 6)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        bad = [d for d in ex.map(lambda f: differs(base, new, f), inputs) if d]
    for d in bad:
        print("differs:", d)
    print("%d inputs compared (translate and ack), %d differ" %
          (len(inputs), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
