#!/usr/bin/env python3
"""bench_sftp.py: SFTP pull throughput (DESIGN.md §13), for `make bench`.

A private OpenSSH sshd on 127.0.0.1 (../shared/peers/sftp/start-sshd.sh)
holds the partner's inbox.  Two loads:
- 1,000 small X12 850 files (about 330 bytes each);
- one 100 MB file.
edigate: `edigate serve` is connected and idle ([sftp] poll 50ms); the
files are put in the remote inbox (renamed in at once) and the time until
the inbox is empty is measured: every file listed twice (the stable-file
rule), downloaded, committed durably to LMDB with its translate job, and
only then removed on the server.
Reference: OpenSSH's own client, `sftp -b` with `get inbox/* DIR` then
`rm inbox/*` (a plain copy to local files plus the same removals,
connection set-up included).
Prints a table: files/s, MB/s, and edigate's rate over the client's.
Environment: BENCH_RUNS (default 3; the best run of each is kept).
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

top = os.environ.get("top_srcdir", ".")
build = os.environ.get("top_builddir", ".")
shared = os.environ.get("EDIGATE_SHARED", os.path.join(top, "..", "shared"))
peer = os.path.join(shared, "peers", "sftp")
edigate = os.path.join(build, "edigate")
runs = int(os.environ.get("BENCH_RUNS", "3"))
MB = 1024 * 1024


def x850(i):
    segs = ["ST*850*0001", "BEG*00*SA*B%d**20240301" % i, "CUR*BY*USD",
            "N1*ST*ACME DC 7*UL*0614141000036",
            "PO1*1*24*CA*36.50**VN*WC-1001", "CTT*1*24"]
    body = "~\n".join(segs) + "~\nSE*%d*0001~\n" % (len(segs) + 1)
    return ("ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*WIDGETCO"
            "       *240301*1422*U*00401*%09d*0*P*>~\nGS*PO*ACMERETAIL*"
            "WIDGETCO*20240301*1422*%d*X*004010~\n%sGE*1*%d~\nIEA*1*%09d~\n"
            % (i, i, body, i, i)).encode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout=120.0, step=0.002):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def stage(root, files):
    """Write the load beside the inbox, on the same file system."""
    d = os.path.join(root, "home", "stage")
    os.makedirs(d, exist_ok=True)
    for name, data in files:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return d


def release(root, names):
    """Rename the staged files into the inbox; the clock starts."""
    src = os.path.join(root, "home", "stage")
    dst = os.path.join(root, "home", "inbox")
    t0 = time.time()
    for n in names:
        os.rename(os.path.join(src, n), os.path.join(dst, n))
    return t0


def inbox_empty(root):
    return not os.listdir(os.path.join(root, "home", "inbox"))


def run_edigate(sshd, port, files):
    root = tempfile.mkdtemp(prefix="edigate-bench-sftp-")
    os.chmod(root, 0o755)
    user = open(os.path.join(sshd, "user")).read().strip()
    os.makedirs(os.path.join(root, "partners.d"))
    conf = os.path.join(root, "edigate.ini")
    with open(conf, "w") as f:
        f.write("[gateway]\nstate_dir = state\npartners_dir = partners.d\n"
                "maps_dir = %s\nbatch = 1000\n[identity]\n"
                "x12_id = ZZ:WIDGETCO\n" % os.path.join(top, "maps"))
    with open(os.path.join(root, "partners.d", "acme-retail.ini"), "w") as f:
        f.write("[partner]\nx12_id = ZZ:ACMERETAIL\nack = none\n[sftp]\n"
                "host = 127.0.0.1\nport = %d\nuser = %s\nkey = %s\n"
                "known_hosts = %s\ninbox = inbox\npoll = 50ms\n"
                "timeout = 30s\n" % (port, user,
                                     os.path.join(sshd, "client_ed25519"),
                                     os.path.join(sshd, "known_hosts")))
    log = open(os.path.join(root, "serve.log"), "w")
    stage(sshd, files)
    p = subprocess.Popen([edigate, "serve", "-c", conf], stderr=log)
    try:
        wait_for(lambda: "sftp: connected" in
                 open(os.path.join(root, "serve.log")).read(), 30, 0.02)
        t0 = release(sshd, [n for n, _ in files])
        if not wait_for(lambda: inbox_empty(sshd), 600):
            raise RuntimeError("edigate did not empty the inbox")
        dt = time.time() - t0
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
    return dt


def run_sftp(sshd, port, files):
    dst = tempfile.mkdtemp(prefix="edigate-bench-sftpget-")
    user = open(os.path.join(sshd, "user")).read().strip()
    stage(sshd, files)
    release(sshd, [n for n, _ in files])
    t0 = time.time()
    r = subprocess.run(
        ["sftp", "-F", "/dev/null", "-i",
         os.path.join(sshd, "client_ed25519"), "-o",
         "UserKnownHostsFile=" + os.path.join(sshd, "known_hosts"),
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
         "-P", str(port), "-b", "-", "%s@127.0.0.1" % user],
        input="get inbox/* %s/\nrm inbox/*\n" % dst, text=True,
        capture_output=True)
    dt = time.time() - t0
    shutil.rmtree(dst, ignore_errors=True)
    if r.returncode != 0 or not inbox_empty(sshd):
        raise RuntimeError("sftp -b: %s" % r.stderr)
    return dt


def main():
    if not os.access("/usr/sbin/sshd", os.X_OK):
        print("bench_sftp: no /usr/sbin/sshd: skipped")
        return 0
    sshd = tempfile.mkdtemp(prefix="edigate-bench-sshd-")
    port = free_port()
    subprocess.run([os.path.join(peer, "start-sshd.sh"), sshd, str(port)],
                   check=True, capture_output=True)
    loads = [("1,000 small files",
              [("po%04d.x12" % i, x850(i + 1)) for i in range(1000)]),
             ("one 100 MB file",
              [("big.dat", b"0123456789abcdef" * (100 * MB // 16))])]
    rows, out = [], {}
    try:
        for name, files in loads:
            nbytes = sum(len(d) for _, d in files)
            e = min(run_edigate(sshd, port, files) for _ in range(runs))
            s = min(run_sftp(sshd, port, files) for _ in range(runs))
            rows.append((name, len(files), nbytes, e, s))
            out[name] = {"files": len(files), "bytes": nbytes,
                         "edigate_s": e, "sftp_s": s}
    finally:
        subprocess.run([os.path.join(peer, "stop-sshd.sh"), sshd])
        shutil.rmtree(sshd, ignore_errors=True)
    print()
    print("| SFTP pull, loopback sshd | who | seconds | files/s | MB/s | "
          "edigate / sftp |")
    print("|---|---|---|---|---|---|")
    for name, nf, nb, e, s in rows:
        print("| %s | edigate (download, LMDB commit, remove) | %.3f | "
              "%.0f | %.1f | %.2f |" % (name, e, nf / e, nb / MB / e, s / e))
        print("| %s | OpenSSH sftp -b (get, rm) | %.3f | %.0f | %.1f | - |"
              % (name, s, nf / s, nb / MB / s))
    print(json.dumps(out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
