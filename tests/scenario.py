"""scenario.py: what the scenario tests (daemon.py, console.py, as2.py)
share: TAP output, waiting, X12 documents, the ERP receiver
(tests/erp_receiver.py) and a daemon on a configuration written in a
temporary folder.  Imported, not
run; the tests count through scenario.n and scenario.failed.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

EDIGATE = os.path.abspath(os.environ.get("EDIGATE", "./edigate"))
TOP = os.environ.get("top_srcdir", ".")
MAPS = os.path.abspath(os.environ.get("EDIGATE_MAPS",
                                      os.path.join(TOP, "maps")))

n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
    if not cond and diag is not None:
        for line in str(diag).splitlines()[:40]:
            print("# " + line)
    sys.stdout.flush()
    return cond


def wait_for(pred, timeout=60.0, step=0.05):
    """pred()'s first true value, or its last false one after timeout
    seconds.  Timeouts are generous (a loaded 2-core machine, an ASan
    build 2-3 times slower): they only cost time when something is
    wrong."""
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


# --- documents -----------------------------------------------------------

def isa(sender, icn, gs_code, gcn, body_sets):
    s = ("ISA*00*          *00*          *ZZ*%-15s*ZZ*%-15s*240301*1422*U*"
         "00401*%09d*0*P*>~\n" % (sender, "WIDGETCO", icn))
    s += "GS*%s*%s*WIDGETCO*20240301*1422*%d*X*004010~\n" % (gs_code, sender,
                                                           gcn)
    for st in body_sets:
        s += st
    s += "GE*%d*%d~\nIEA*1*%09d~\n" % (len(body_sets), gcn, icn)
    return s


def set850(po, stn=1, bad_count=False):
    segs = ["ST*850*%04d" % stn, "BEG*00*SA*%s**20240301" % po,
            "CUR*BY*USD", "N1*ST*ACME DC 7*UL*0614141000036",
            "PO1*1*24*CA*36.50**VN*WC-1001", "CTT*1*24"]
    cnt = len(segs) + 1 + (5 if bad_count else 0)
    return "~\n".join(segs) + "~\nSE*%d*%04d~\n" % (cnt, stn)


def x850(icn, po, sender="ACMERETAIL", bad_count=False):
    return isa(sender, icn, "PO", icn, [set850(po, 1, bad_count)])


def x855(icn, po, sender="ACMERETAIL"):
    segs = ["ST*855*0001", "BAK*00*AC*%s*20240301" % po,
            "PO1*1*24*CA*36.50**VN*WC-1001", "ACK*IA*24*CA", "CTT*1"]
    body = "~\n".join(segs) + "~\nSE*%d*0001~\n" % (len(segs) + 1)
    return isa(sender, icn, "PR", icn, [body])


# --- processes -----------------------------------------------------------

class Receiver:
    def __init__(self, root):
        self.log = os.path.join(root, "erp.jsonl")
        self.portfile = os.path.join(root, "erp.port")
        open(self.log, "w").close()
        self.p = subprocess.Popen(
            [sys.executable, os.path.join(TOP, "tests", "erp_receiver.py"),
             "--log", self.log, "--port-file", self.portfile],
            stdout=subprocess.DEVNULL)
        # the port file is written under a temporary name and renamed
        if not wait_for(lambda: os.path.exists(self.portfile) or
                        self.p.poll() is not None, 60) or \
                self.p.poll() is not None:
            raise RuntimeError("erp_receiver.py did not start (exit %s)" %
                               self.p.poll())
        self.port = int(open(self.portfile).read().strip())
        self.url = "http://127.0.0.1:%d/import" % self.port

    def ctl(self, **kw):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/_ctl" % self.port,
            data=json.dumps(kw).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def requests(self):
        """The requests logged so far; a last line still being written
        (no newline yet) is left for the next call."""
        out = []
        with open(self.log) as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                if line.strip():
                    r = json.loads(line)
                    r["hdr"] = dict((k.lower(), v) for k, v in r["headers"])
                    try:
                        r["event"] = json.loads(r["body"])
                    except ValueError:
                        r["event"] = None
                    out.append(r)
        return out

    def delivered(self):
        """Events answered 2xx, in arrival order."""
        return [r for r in self.requests()
                if r["status"] is not None and 200 <= r["status"] < 300]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(60)


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_GIVEN = set()


def free_port():
    """A TCP port on 127.0.0.1 free right now, for a server started later.

    Not one the kernel picks for port 0: those are the ephemeral ports
    that every outgoing connection (to the ERP receiver, the CLI's, the
    peers') takes its local port from, so one could hold the port by the
    time the server binds it.  Below that range only an explicit bind
    takes a port.  Never the same port twice in one test process."""
    low = min(_ephemeral_low(), 65536)
    lo, hi = (20000, low - 1) if low > 21000 else (low // 2, low - 1)
    for _ in range(1000):
        port = random.randint(lo, hi)
        if port in _GIVEN:
            continue
        so = socket.socket()
        try:
            so.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            so.close()
        _GIVEN.add(port)
        return port
    raise RuntimeError("no free port in %d-%d" % (lo, hi))


def listening(port):
    """True when something listens on TCP 127.0.0.1:port (or any
    address), read from /proc/net/tcp: no connection is made, so a peer
    that counts or logs its connections never sees one."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if state == "0A" and \
                            int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return False


class Daemon:
    """`edigate serve` on the configuration self.conf (written by a
    subclass), its stderr in self.errlog; the CLI on the same
    configuration."""

    def __init__(self, root):
        self.root = root
        self.conf = os.path.join(root, "edigate.ini")
        self.errlog = os.path.join(root, "serve.log")
        self.p = None

    def environ(self, e):
        """The daemon's environment; subclasses add to it."""
        return e

    def start(self, env=None):
        e = dict(os.environ)
        e.pop("EDIGATE_FAILPOINT", None)
        e = self.environ(e)
        e.update(env or {})
        skip = len(self.log())          # a restart: wait for the new line
        self.err = open(self.errlog, "a")
        self.p = subprocess.Popen([EDIGATE, "serve", "-c", self.conf],
                                  stderr=self.err, env=e)
        wait_for(lambda: "serve: ready" in self.log()[skip:] or
                 self.p.poll() is not None, 60)
        return self.p

    def log(self):
        try:
            return open(self.errlog).read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.err.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cli(self, *args):
        r = subprocess.run([EDIGATE] + list(args) + ["-c", self.conf],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def json(self, *args):
        rc, out, err = self.cli(*(list(args) + ["--json"]))
        if rc != 0:
            raise RuntimeError("edigate %s: %d %s" % (args, rc, err))
        return json.loads(out)

    def all_docs(self, *args):
        v = self.json("docs", "--limit", "100000", *args)
        return v["documents"] if isinstance(v, dict) else v


class Gateway(Daemon):
    """Partners on dir channels, an ERP at erp_url."""

    def __init__(self, root, erp_url, partners=("acme-retail",), extra="",
                 pextra=""):
        Daemon.__init__(self, root)
        os.makedirs(os.path.join(root, "partners.d"), exist_ok=True)
        # [erp] timeout: an answer the receiver logged as 2xx but that a
        # loaded machine took longer than a short timeout to carry back
        # would be tried again, a second delivery no scenario expects
        with open(self.conf, "w") as f:
            f.write("[gateway]\nstate_dir = state\npartners_dir = "
                    "partners.d\nmaps_dir = %s\npoll = 50ms\n"
                    "[identity]\nx12_id = ZZ:WIDGETCO\n"
                    "[erp]\nurl = %s\ntimeout = 30s\nretry_min = 100ms\n"
                    "retry_max = 500ms\n%s" % (MAPS, erp_url, extra))
        ids = {"acme-retail": "ZZ:ACMERETAIL", "bolt-supply": "ZZ:BOLT"}
        for p in partners:
            for d in ("in", "out"):
                os.makedirs(os.path.join(root, p, d), exist_ok=True)
            with open(os.path.join(root, "partners.d", p + ".ini"), "w") as f:
                f.write("[partner]\nx12_id = %s\nack = 997\n%s[dir]\n"
                        "inbox = ../%s/in\noutbox = ../%s/out\n" %
                        (ids[p], pextra, p, p))

    def drop(self, partner, name, text):
        d = os.path.join(self.root, partner, "in")
        tmp = os.path.join(d, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(d, name))

    def inbox(self, partner="acme-retail"):
        return sorted(os.listdir(os.path.join(self.root, partner, "in")))

    def outbox(self, partner="acme-retail"):
        d = os.path.join(self.root, partner, "out")
        return [open(os.path.join(d, f)).read() for f in sorted(os.listdir(d))
                if not f.startswith(".")]

    def docs(self, **kw):
        args = []
        for k, v in kw.items():
            args += ["--" + k, v]
        return self.all_docs(*args)


def plan():
    """The TAP plan; the exit status."""
    print("1..%d" % n)
    return 1 if failed else 0
