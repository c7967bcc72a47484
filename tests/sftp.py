#!/usr/bin/env python3
"""sftp.py: scenario tests of the SFTP channel against real OpenSSH sshd.

Each scenario starts private sshd instances on 127.0.0.1 with free ports
(../shared/peers/sftp/start-sshd.sh) and `edigate serve` on a configuration
written here whose partners have an [sftp] section, then asserts on the
server's folders (the sshd's home is a local folder), on the store as the
operator CLI reports it (`edigate docs|partners|status|jobs --json`) and on
the daemon's log.  Everything is stopped by pid.  TAP on stdout; failing
when sshd is not installed.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario  # noqa: E402
from scenario import (EDIGATE, MAPS, TOP, Daemon, free_port,  # noqa
                      listening, ok, wait_for, x850)

SHARED = os.environ.get("EDIGATE_SHARED", os.path.join(TOP, "..", "shared"))
PEER = os.path.join(SHARED, "peers", "sftp")
SSHD = "/usr/sbin/sshd"
# libssh2 1.10 leaks its key exchange state when a handshake is given up
# (a server that never answers): not ours, suppressed for ASan builds.
LSAN_SUPP = os.path.join(TOP, "tests", "lsan-libssh2.supp")

GATEWAYS = []


def note(msg):
    print("# " + msg)
    sys.stdout.flush()


# --- processes -----------------------------------------------------------

def children(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


class Sshd:
    def __init__(self, root, name="sshd", port=None):
        self.dir = os.path.join(root, name)
        self.port = port or free_port()
        self.start()
        self.user = open(os.path.join(self.dir, "user")).read().strip()
        self.home = os.path.join(self.dir, "home")
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        self.key = os.path.join(self.dir, "client_ed25519")
        r = subprocess.run(["ssh-keygen", "-lf",
                            os.path.join(self.dir, "host_ed25519.pub")],
                           capture_output=True, text=True)
        self.fingerprint = r.stdout.split()[1]

    def pidfile_pid(self):
        """The pid sshd wrote, once its whole line is there (sshd creates
        the file, then writes "PID\\n"): else None."""
        try:
            text = open(os.path.join(self.dir, "sshd.pid")).read()
        except OSError:
            return None
        return int(text.split()[0]) if text.endswith("\n") else None

    def start(self):
        r = subprocess.run([os.path.join(PEER, "start-sshd.sh"), self.dir,
                            str(self.port)], capture_output=True, text=True,
                           timeout=120)
        # the script gives sshd 5 s to write its pid and then prints the
        # file as it is, complete, empty or missing (exit 0 or not): on a
        # loaded machine sshd may take longer, so its pid is read here
        self.pid = wait_for(self.pidfile_pid)
        if not self.pid:
            raise RuntimeError("start-sshd.sh (exit %d): no pid from sshd: "
                               "%s" % (r.returncode, r.stderr))
        if not wait_for(self.listening):
            raise RuntimeError("sshd %d does not listen on port %d" %
                               (self.pid, self.port))

    def kill(self):
        """The listener and its sessions, at once (a crash)."""
        kids, todo = [], [self.pid]
        while todo:
            c = children(todo.pop())
            kids += c
            todo += c
        for p in [self.pid] + kids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        wait_for(lambda: self.gone(self.pid) and not self.listening())
        try:
            os.unlink(os.path.join(self.dir, "sshd.pid"))
        except OSError:
            pass

    @staticmethod
    def gone(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            return True
        return st[st.rindex(")") + 2:].split()[0] == "Z"

    def listening(self):
        # from /proc/net/tcp: a test connection would be a session in
        # sshd.log, and would wait for a listener too busy to accept
        return listening(self.port)

    def start_config(self):
        """Start sshd again on its own (edited) sshd_config, once the
        stopped one is gone: its pid file unlinked and its port closed.
        Returns when the new one has written its pid and listens; a bind
        that loses a race with the old listener's exit is retried."""
        pidfile = os.path.join(self.dir, "sshd.pid")
        log = os.path.join(self.dir, "sshd.log")
        wait_for(lambda: not os.path.exists(pidfile) and
                 not self.listening())
        for _ in range(3):
            try:
                os.unlink(pidfile)
            except OSError:
                pass
            subprocess.run([SSHD, "-f", os.path.join(self.dir, "sshd_config"),
                            "-E", log], check=True)
            if wait_for(lambda: self.pidfile_pid() and self.listening()):
                self.pid = self.pidfile_pid()
                return
            time.sleep(0.5)
        raise RuntimeError("sshd did not start again on port %d: %s" %
                           (self.port, open(log).read()[-1000:]))

    def stop(self):
        subprocess.run([os.path.join(PEER, "stop-sshd.sh"), self.dir],
                       timeout=30)
        for p in children(self.pid):
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass

    def put(self, folder, name, data):
        """Write a file into the server's folder the way a partner would:
        under a temporary name, then renamed."""
        d = os.path.join(self.home, folder)
        tmp = os.path.join(d, "." + name + ".uploading")
        with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.rename(tmp, os.path.join(d, name))

    def ls(self, folder):
        return sorted(os.listdir(os.path.join(self.home, folder)))

    def landed(self, folder, n):
        """The listing once it holds n files and none is still an upload's
        temporary name (src/files.c files_temp_name); else None."""
        names = self.ls(folder)
        if len(names) != n or any(
                f.startswith(".") or f.endswith((".tmp", ".part", ".filepart"))
                for f in names):
            return None
        return names

    def log(self):
        try:
            return open(os.path.join(self.dir, "sshd.log")).read()
        except OSError:
            return ""


def sftp_section(s, poll="200ms", timeout="30s", after="delete",
                 outbox="outbox", known_hosts=True, fingerprint=None,
                 extra=""):
    # timeout: the daemon's own default (30s).  A live server that a
    # loaded machine lets answer a handshake late must not fail a
    # scenario with "timed out" where it expects another error (hostkey)
    # or none; the scenarios about timeouts set their own.
    text = ("[sftp]\nhost = 127.0.0.1\nport = %d\nuser = %s\nkey = %s\n"
            "inbox = inbox\npoll = %s\ntimeout = %s\nafter = %s\n" %
            (s.port, s.user, s.key, poll, timeout, after))
    if outbox:
        text += "outbox = %s\n" % outbox
    if known_hosts is True:
        text += "known_hosts = %s\n" % s.known_hosts
    elif known_hosts:
        text += "known_hosts = %s\n" % known_hosts
    if fingerprint:
        text += "fingerprint = %s\n" % fingerprint
    return text + extra


class Gateway(Daemon):
    def __init__(self, root, partners):
        """partners: {id: (x12_id, sftp section text)}"""
        Daemon.__init__(self, root)
        os.makedirs(os.path.join(root, "partners.d"), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write("[gateway]\nstate_dir = state\npartners_dir = "
                    "partners.d\nmaps_dir = %s\npoll = 50ms\n"
                    "[identity]\nx12_id = ZZ:WIDGETCO\n" % MAPS)
        for p, (x12, sec) in partners.items():
            self.partner(p, x12, sec)
        GATEWAYS.append(self)

    def partner(self, p, x12, sec):
        with open(os.path.join(self.root, "partners.d", p + ".ini"),
                  "w") as f:
            f.write("[partner]\nx12_id = %s\nack = 997\n%s" % (x12, sec))

    def environ(self, e):
        if "LSAN_OPTIONS" not in e and os.path.exists(LSAN_SUPP):
            e["LSAN_OPTIONS"] = "suppressions=" + LSAN_SUPP
        return e

    def docs(self, direction="inbound"):
        return [d for d in self.all_docs() if direction is None or
                d["direction"] == direction]

    def chan(self, partner):
        for r in self.json("partners"):
            if r["id"] == partner:
                return r.get("channels", {}).get("sftp")
        return None


# --- scenarios -----------------------------------------------------------

def scenario_basic(tmp):
    s = Sshd(tmp)
    gw = Gateway(tmp, {"acme-retail": ("ZZ:ACMERETAIL", sftp_section(
        s, after="move:processed"))})
    s.put("inbox", "po1.x12", x850(101, "PO-101"))
    s.put("inbox", "po2.x12", x850(102, "PO-102"))
    s.put("inbox", "po3.x12", x850(103, "PO-103"))
    # a name no local path could carry: data only, and never taken
    s.put("inbox", "bad\nname.x12", x850(104, "PO-104"))
    gw.start()
    ok(gw.p.poll() is None, "daemon starts", gw.log())
    docs = wait_for(lambda: len(gw.docs()) >= 3 and gw.docs())
    ok(sorted(d["name"] for d in (docs or [])) ==
       ["po1.x12", "po2.x12", "po3.x12"],
       "three files pulled and recorded under their remote names", docs)
    ok(all(d["channel"] == "sftp:acme-retail" for d in docs or []),
       "channel sftp:acme-retail", docs)
    ok(wait_for(lambda: all(d["state"] == "translated" for d in gw.docs())),
       "translated", gw.docs())
    ok(wait_for(lambda: s.ls("inbox") == ["bad\nname.x12"]),
       "taken files gone from the remote inbox", s.ls("inbox"))
    proc = s.ls("processed")
    ids = dict((d["name"], d["id"]) for d in gw.docs())
    ok(sorted(proc) == sorted("%s.%s" % (k, v) for k, v in ids.items()),
       "moved into processed/ as NAME.DOCID", (proc, ids))
    out = wait_for(lambda: s.landed("outbox", 3))
    ok(out and all(f.startswith("997-acme-retail-") for f in out),
       "three 997s uploaded to the partner's outbox", s.ls("outbox"))
    txt = [open(os.path.join(s.home, "outbox", f)).read() for f in out or []]
    ok(txt and all("AK5*A" in t for t in txt), "positive 997s", txt)
    outdocs = gw.docs("outbound")
    ok(len(outdocs) == 3, "three outbound 997 documents", outdocs)

    def send_jobs():
        v = gw.json("jobs", "--kind", "send")
        return v["jobs"] if isinstance(v, dict) else v

    def jobs_done(jobs):
        return len(jobs) == 3 and all(j["state"] == "done" and
                                      j["target"] == "sftp:acme-retail"
                                      for j in jobs)
    # the upload lands (its final name) before the job is settled in
    # the store
    jobs = wait_for(lambda: jobs_done(send_jobs()) and send_jobs()) or \
        send_jobs()
    ok(jobs_done(jobs), "send jobs of target sftp:acme-retail done", jobs)

    def chan_ok(c):
        return (c is not None and c["files"] == 3 and c["sent"] == 3 and
                c["error"] is None and c["connected"] and
                c["polls"] > 0 and c["last_poll"])
    # the poller saves its counters to the store after the upload and
    # the settlement, on its next turn
    c = wait_for(lambda: chan_ok(gw.chan("acme-retail")) and
                 gw.chan("acme-retail")) or gw.chan("acme-retail")
    ok(chan_ok(c), "partners --json: channel state", c)
    rc, out, _ = gw.cli("partners")
    ok(rc == 0 and "SFTP" in out and "ok " in out, "partners: SFTP column",
       out)
    st = gw.json("status")
    ok(any(x["partner"] == "acme-retail" and x["channel"] == "sftp" and
           x["files"] == 3 for x in st.get("channels", [])),
       "status --json: channels", st.get("channels"))
    rc, out, _ = gw.cli("status")
    ok(rc == 0 and "LAST POLL" in out and "127.0.0.1:%d" % s.port in out,
       "status: the channel table", out)
    ok(gw.stop() == 0, "SIGTERM: exit 0", gw.log())
    ok(wait_for(lambda: "edigate: bye" in s.log()),
       "clean SSH disconnect on shutdown", s.log()[-2000:])
    c = gw.chan("acme-retail")
    ok(c is not None and not c["connected"], "state: not connected after "
       "the stop", c)
    s.stop()


def scenario_hostkey(tmp):
    s = Sshd(tmp)
    other = os.path.join(tmp, "other")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    other], check=True)
    wrong = os.path.join(tmp, "wrong_known_hosts")
    with open(wrong, "w") as f:
        f.write("[127.0.0.1]:%d %s\n" % (s.port, " ".join(
            open(other + ".pub").read().split()[:2])))
    empty = os.path.join(tmp, "empty_known_hosts")
    open(empty, "w").close()
    r = subprocess.run(["ssh-keygen", "-lf", other + ".pub"],
                       capture_output=True, text=True)
    wrongfp = r.stdout.split()[1]
    gw = Gateway(tmp, {
        "acme-retail": ("ZZ:ACMERETAIL", sftp_section(
            s, known_hosts=wrong)),
        "bolt-supply": ("ZZ:BOLT", sftp_section(s, known_hosts=empty)),
        "fp-wrong": ("ZZ:FPWRONG", sftp_section(
            s, known_hosts=False, fingerprint=wrongfp)),
    })
    s.put("inbox", "po1.x12", x850(201, "PO-201"))
    gw.start()
    for p, what, why in (("acme-retail", "changed", "changed host key"),
                         ("bolt-supply", "unknown", "unknown to"),
                         ("fp-wrong", "other fingerprint",
                          "not the pinned fingerprint")):
        c = wait_for(lambda: (gw.chan(p) or {}).get("error") and
                     gw.chan(p))
        err = (c or {}).get("error") or ""
        ok("host key refused" in err and s.fingerprint in err,
           "%s host key: refused, the error names the fingerprint seen (%s)"
           % (what, s.fingerprint), c)
        ok(why in err, "%s host key: the message says why" % what, err)
    time.sleep(1)
    ok(s.ls("inbox") == ["po1.x12"] and gw.docs() == [],
       "nothing downloaded, nothing recorded", (s.ls("inbox"), gw.docs()))
    ok("host key refused" in gw.log() and s.fingerprint in gw.log(),
       "logged with the fingerprint", gw.log()[-2000:])
    ok("Accepted publickey" not in s.log(), "no login was attempted",
       s.log()[-2000:])
    rc, out, _ = gw.cli("partners")
    ok("host key refused" in out, "partners shows the error", out)
    gw.stop()
    # the right fingerprint alone is enough
    gw.partner("acme-retail", "ZZ:ACMERETAIL", sftp_section(
        s, known_hosts=False, fingerprint=s.fingerprint))
    os.unlink(os.path.join(gw.root, "partners.d", "bolt-supply.ini"))
    os.unlink(os.path.join(gw.root, "partners.d", "fp-wrong.ini"))
    gw.start()
    ok(wait_for(lambda: len(gw.docs()) == 1), "pinned fingerprint: "
       "file pulled", gw.log()[-2000:])
    gw.stop()
    s.stop()


def scenario_many_hostkeys(tmp):
    """A server with ECDSA and RSA host keys besides the pinned Ed25519:
    the session asks for the pinned type and logs in."""
    s = Sshd(tmp)
    s.stop()
    conf = os.path.join(s.dir, "sshd_config")
    extra = []
    for t in ("ecdsa", "rsa"):
        k = os.path.join(s.dir, "host_" + t)
        if not os.path.exists(k):
            subprocess.run(["ssh-keygen", "-q", "-t", t, "-N", "", "-f", k],
                           check=True)
        extra.append("HostKey %s\n" % k)
    text = open(conf).read()
    # listed before the ed25519 key: what the server offers first
    text = text.replace("HostKey ", "".join(extra) + "HostKey ", 1)
    open(conf, "w").write(text)
    s.start_config()
    # ssh-keyscan gives a server 5 s by default: not enough for one
    # that is loaded
    r = subprocess.run(["ssh-keyscan", "-T", "60", "-p", str(s.port),
                        "127.0.0.1"], capture_output=True, text=True,
                       timeout=200)
    types = set(ln.split()[1] for ln in r.stdout.splitlines()
                if ln and not ln.startswith("#"))
    ok({"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"} <= types,
       "the server shows three host key types", r.stdout + r.stderr)
    gw = Gateway(tmp, {"acme-retail": ("ZZ:ACMERETAIL", sftp_section(s))})
    s.put("inbox", "po.x12", x850(901, "PO-901"))
    gw.start()
    d = wait_for(lambda: gw.docs())
    ok(d and d[0]["name"] == "po.x12" and "host key refused" not in
       gw.log(), "only the Ed25519 key pinned: that key is asked for, "
       "checked and the file pulled", gw.log()[-2000:])
    gw.stop()
    s.stop()


def scenario_passphrase_reload(tmp):
    s = Sshd(tmp)
    key = os.path.join(tmp, "pk")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret word",
                    "-f", key], check=True)
    with open(os.path.join(s.dir, "authorized_keys"), "a") as f:
        f.write(open(key + ".pub").read())
    pf = os.path.join(tmp, "passphrase")
    with open(pf, "w") as f:
        f.write("wrong\n")
    os.chmod(pf, 0o600)
    sec = sftp_section(s).replace("key = %s\n" % s.key, "key = %s\n"
                                  "passphrase_file = %s\n" % (key, pf))
    gw = Gateway(tmp, {"acme-retail": ("ZZ:ACMERETAIL", sec)})
    s.put("inbox", "po1.x12", x850(501, "PO-501"))
    gw.start()
    c = wait_for(lambda: (gw.chan("acme-retail") or {}).get("error") and
                 gw.chan("acme-retail"))
    ok(c and "login as" in c["error"], "a wrong passphrase: no login, "
       "the error says so", c)
    ok(gw.docs() == [], "nothing pulled")
    with open(pf, "w") as f:
        f.write("s3cret word\n")
    # a change of [sftp] on reload gets a new poller
    gw.partner("acme-retail", "ZZ:ACMERETAIL", sec.replace(
        "poll = 200ms", "poll = 250ms"))
    gw.p.send_signal(signal.SIGHUP)
    ok(wait_for(lambda: len(gw.docs()) == 1),
       "the passphrase file is read at each login: once right, the file is pulled",
       gw.log()[-2000:])
    # logged after the new configuration is in place, which a poller may
    # already have used
    ok(wait_for(lambda: "serve: reloaded" in gw.log()), "reloaded")
    # a partner added by a reload is polled too
    s2 = Sshd(tmp, "sshd2")
    s2.put("inbox", "po2.x12", x850(502, "PO-502", sender="BOLT"))
    gw.partner("bolt-supply", "ZZ:BOLT", sftp_section(s2))
    gw.p.send_signal(signal.SIGHUP)
    ok(wait_for(lambda: len(gw.docs()) == 2),
       "a partner added by SIGHUP is polled", gw.log()[-2000:])
    ok(gw.stop() == 0, "stops", gw.log()[-2000:])
    s.stop()
    s2.stop()


def scenario_config(tmp):
    s = Sshd(tmp)
    gw = Gateway(tmp, {"acme-retail": ("ZZ:ACMERETAIL", sftp_section(
        s, known_hosts=False))})
    rc, out, err = gw.cli("config", "check")
    ok(rc != 0 and "known_hosts or fingerprint" in err,
       "config check: no pinned host key is an error", err)
    gw.partner("acme-retail", "ZZ:ACMERETAIL", sftp_section(
        s, after="archive"))
    rc, out, err = gw.cli("config", "check")
    ok(rc != 0 and "after" in err, "config check: after must be delete "
       "or move:FOLDER", err)
    gw.partner("acme-retail", "ZZ:ACMERETAIL", sftp_section(
        s, fingerprint="MD5:00"))
    rc, out, err = gw.cli("config", "check")
    ok(rc != 0 and "fingerprint" in err, "config check: fingerprint is "
       "SHA256:", err)
    gw.partner("acme-retail", "ZZ:ACMERETAIL", sftp_section(s))
    rc, out, err = gw.cli("config", "check")
    ok(rc == 0, "config check: a full [sftp] section is fine", err)
    rc, out, err = gw.cli("config", "dump")
    ok("[sftp]" in out and "port = %d" % s.port in out,
       "config dump shows [sftp]", out)
    s.stop()


def scenario_growing(tmp):
    s = Sshd(tmp)
    gw = Gateway(tmp, {"acme-retail": ("ZZ:ACMERETAIL", sftp_section(s))})
    gw.start()
    doc = x850(301, "PO-301")
    path = os.path.join(s.home, "inbox", "grow.x12")
    early = []
    done = []

    def writer():
        # written a little at a time for 2.5 s, polls every 200 ms; a
        # thread of its own, so that a slow CLI call below (a loaded
        # machine) never pauses the writing for two polls
        with open(path, "w") as f:
            step = max(1, len(doc) // 50)
            for i in range(0, len(doc), step):
                f.write(doc[i:i + step])
                f.flush()
                time.sleep(0.05)
        done.append(1)

    import threading
    th = threading.Thread(target=writer)
    th.start()
    while not done:
        # a document taken before the writer finished holds fewer bytes
        early += [d["size"] for d in gw.docs() if d["size"] < len(doc)]
        time.sleep(0.1)
    th.join()
    ok(not early, "a file still being written is not taken", early)
    d = wait_for(lambda: gw.docs())
    ok(d and len(d) == 1 and d[0]["size"] == len(doc),
       "taken once complete, whole", d)
    # the temporary-name convention
    s.put("inbox", "po2.x12.part", x850(302, "PO-302"))
    time.sleep(1.0)
    ok(len(gw.docs()) == 1 and "po2.x12.part" in s.ls("inbox"),
       "a .part file is not taken", s.ls("inbox"))
    os.rename(os.path.join(s.home, "inbox", "po2.x12.part"),
              os.path.join(s.home, "inbox", "po2.x12"))
    ok(wait_for(lambda: len(gw.docs()) == 2), "taken once renamed")
    gw.stop()
    s.stop()


def scenario_kill_server(tmp):
    s = Sshd(tmp)
    gw = Gateway(tmp, {"acme-retail": ("ZZ:ACMERETAIL", sftp_section(
        s, timeout="2s"))})
    gw.start()
    size = 200 * 1024 * 1024
    blob = (b"not edi " * (size // 8))
    s.put("inbox", "big.dat", blob)
    ok(wait_for(lambda: "downloading partner=acme-retail file=big.dat"
                in gw.log(), 60, 0.005), "download starts", gw.log())
    s.kill()
    t_kill = time.time()
    ok(wait_for(lambda: (gw.chan("acme-retail") or {}).get("error")),
       "the failure is visible in the channel state",
       gw.chan("acme-retail"))
    time.sleep(1)
    ok(gw.docs() == [], "server killed mid-download: no document recorded",
       gw.docs())
    ok(s.ls("inbox") == ["big.dat"], "the file is still on the server")
    s.start()
    d = wait_for(lambda: gw.docs(), 180)
    note("taken %.1f s after the kill (reconnect with backoff)" %
         (time.time() - t_kill))
    ok(d and len(d) == 1 and d[0]["size"] == size and d[0]["name"] ==
       "big.dat", "taken whole on the next poll after the server returns",
       d)
    ok(wait_for(lambda: s.ls("inbox") == []), "then removed remotely")
    c = wait_for(lambda: (gw.chan("acme-retail") or {}).get("bytes") ==
                 size and gw.chan("acme-retail"))
    ok(c and c["error"] is None and c["errors"] >= 1 and
       c["bytes"] == size and c["files"] == 1,
       "state: error cleared, failures and the file counted", c)
    gw.stop()
    s.stop()


def scenario_failpoint(tmp, fp):
    s = Sshd(tmp)
    gw = Gateway(tmp, {"acme-retail": ("ZZ:ACMERETAIL", sftp_section(s))})
    s.put("inbox", "f.x12", x850(801, "PO-801"))
    gw.start({"EDIGATE_FAILPOINT": fp})
    try:
        code = gw.p.wait(60)
    except subprocess.TimeoutExpired:
        code = None
    gw.err.close()
    ok(code == 99, "%s: the daemon dies there" % fp, gw.log())
    ok(s.ls("inbox") == ["f.x12"], "%s: the file is still on the server" %
       fp, s.ls("inbox"))
    before = gw.docs()
    ok(len(before) == (0 if fp == "sftp-after-download" else 1),
       "%s: committed or not, as the point says" % fp, before)
    gw.start()
    ok(wait_for(lambda: s.ls("inbox") == []), "%s: taken after restart" %
       fp, gw.log())
    ok(wait_for(lambda: len(s.ls("outbox")) >= 1), "%s: 997 uploaded" % fp)
    # a re-take of the file is stored "received" and only then marked a
    # duplicate by the pipeline: wait until no document is in between
    wait_for(lambda: all(d["state"] != "received" for d in gw.docs()))
    time.sleep(0.5)
    docs = gw.docs()
    ok(docs and all(d["state"] in ("translated", "duplicate") for d in docs)
       and sum(d["state"] == "translated" for d in docs) == 1,
       "%s: one translated document (a re-take is a duplicate)" % fp, docs)
    gw.stop()
    s.stop()


def scenario_upload_retry(tmp):
    s = Sshd(tmp)
    gw = Gateway(tmp, {"acme-retail": ("ZZ:ACMERETAIL", sftp_section(
        s, outbox="acks"))})
    s.put("inbox", "po1.x12", x850(401, "PO-401"))
    gw.start()

    def send_jobs():
        v = gw.json("jobs", "--kind", "send")
        return v["jobs"] if isinstance(v, dict) else v
    j = wait_for(lambda: [x for x in send_jobs() if x["attempts"] >= 1 and
                          x["state"] == "pending"])
    ok(j and "acks" in (j[0].get("error") or ""),
       "upload into a missing folder: the job waits for a retry with the "
       "error", send_jobs())
    os.mkdir(os.path.join(s.home, "acks"))
    shutil.chown(os.path.join(s.home, "acks"), s.user)
    ok(wait_for(lambda: [x for x in send_jobs() if x["state"] == "done"]),
       "retried and done once the folder exists", send_jobs())
    files = os.listdir(os.path.join(s.home, "acks"))
    ok(len(files) == 1 and files[0].startswith("997-") and
       not files[0].startswith("."), "the 997 under its final name only",
       files)
    gw.stop()
    s.stop()


class Blackhole:
    """A TCP port that accepts connections and never says a word: an SSH
    server that hangs."""

    def __init__(self):
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(64)
        self.port = self.s.getsockname()[1]

    def close(self):
        self.s.close()


def scenario_many(tmp, count=10):
    servers = [Sshd(tmp, "sshd%d" % i) for i in range(count)]
    hole = Blackhole()
    parts = {}
    for i, s in enumerate(servers):
        parts["p%d" % i] = ("ZZ:PARTNER%d" % i, sftp_section(s))
    dead = Sshd.__new__(Sshd)
    dead.port, dead.user, dead.key = hole.port, servers[0].user, \
        servers[0].key
    dead.known_hosts = servers[0].known_hosts
    parts["dead"] = ("ZZ:DEAD", sftp_section(dead, timeout="5s"))
    gw = Gateway(tmp, parts)
    gw.start()
    ok(wait_for(lambda: all((gw.chan("p%d" % i) or {}).get("connected")
                            for i in range(count))),
       "%d partners connected" % count)
    ok(wait_for(lambda: "timed out" in ((gw.chan("dead") or {}).get("error")
                                        or "")),
       "the hanging server: timed out, visible", gw.chan("dead"))
    # polls of every live partner over a window while the dead one hangs
    p0 = dict((i, gw.chan("p%d" % i)["polls"]) for i in range(count))
    time.sleep(3.0)
    p1 = dict((i, gw.chan("p%d" % i)["polls"]) for i in range(count))
    rates = [(p1[i] - p0[i]) / 3.0 for i in range(count)]
    cycles = [gw.chan("p%d" % i)["cycle_ms"] for i in range(count)]
    note("poll cycle with one hanging partner (poll = 200ms, its timeout "
         "5s): live partners %.1f-%.1f polls/s, one poll %d-%d ms" %
         (min(rates), max(rates), min(cycles), max(cycles)))
    # Isolation, not speed: were the live partners held up by the dead
    # one, each would poll at most once per its 5 s timeout (0.2/s); a
    # slow machine (ASan, a loaded CI) still polls several times that.
    ok(min(rates) >= 1.0, "every live partner keeps polling while the dead "
       "one hangs (at least 1 poll/s, 5 times what waiting on it allows)",
       rates)
    t0 = time.time()
    for i, s in enumerate(servers):
        for k in range(3):
            s.put("inbox", "po%d.x12" % k,
                  x850(1000 * i + k + 1, "PO-%d-%d" % (i, k),
                       sender="PARTNER%d" % i))
    got = wait_for(lambda: len(gw.docs()) == 3 * count)
    dt = time.time() - t0
    note("%d files on %d servers pulled in %.2f s (stable rule: two "
         "polls)" % (3 * count, count, dt))
    # taking a file needs two polls (the stable rule): waiting on the
    # dead server would take two of its 5 s timeouts
    ok(got and dt < 4.5, "all %d files pulled concurrently, before the "
       "dead server's 5 s timeout could run out once" % (3 * count), dt)
    ok(wait_for(lambda: all(s.ls("inbox") == [] for s in servers)),
       "every remote inbox emptied")
    ok(wait_for(lambda: all(s.landed("outbox", 3) for s in servers)),
       "every partner got its three 997s")
    t = time.time()
    rc = gw.stop()
    note("stop took %.2f s with a connection hanging" % (time.time() - t))
    ok(rc == 0 and time.time() - t < 5, "stops promptly", gw.log()[-2000:])
    hole.close()
    for s in servers:
        s.stop()


def main():
    # a missing sshd fails the run: a skip would count as a pass
    if not ok(os.access(SSHD, os.X_OK) and os.path.isdir(PEER),
              "%s and %s are there (apt-get install openssh-server)" %
              (SSHD, PEER)):
        return scenario.plan()
    only = sys.argv[1:] or None
    scenarios = [("basic", scenario_basic),
                 ("hostkey", scenario_hostkey),
                 ("many_hostkeys", scenario_many_hostkeys),
                 ("config", scenario_config),
                 ("passphrase_reload", scenario_passphrase_reload),
                 ("growing", scenario_growing),
                 ("kill_server", scenario_kill_server),
                 ("upload_retry", scenario_upload_retry),
                 ("many", scenario_many)]
    scenarios += [("fp:" + fp, lambda t, fp=fp: scenario_failpoint(t, fp))
                  for fp in ("sftp-after-download", "sftp-after-commit")]
    for name, fn in scenarios:
        if only and name not in only:
            continue
        tmp = tempfile.mkdtemp(prefix="edigate-sftp-")
        os.chmod(tmp, 0o755)
        print("# scenario %s in %s" % (name, tmp))
        try:
            fn(tmp)
        except Exception as e:  # a scenario that breaks is a failure
            ok(False, "scenario %s ran to its end" % name, repr(e))
        finally:
            # whatever a broken scenario left running, by pid
            while GATEWAYS:
                g = GATEWAYS.pop()
                if g.p is not None and g.p.poll() is None:
                    g.p.kill()
                    g.p.wait()
            for d in os.listdir(tmp):
                pf = os.path.join(tmp, d, "sshd.pid")
                if os.path.exists(pf):
                    subprocess.run([os.path.join(PEER, "stop-sshd.sh"),
                                    os.path.join(tmp, d)])
            if not scenario.failed:
                shutil.rmtree(tmp, ignore_errors=True)
    return scenario.plan()


if __name__ == "__main__":
    sys.exit(main())
