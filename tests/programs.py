#!/usr/bin/env python3
"""programs.py: edigate and its daemon program, edigate-serve (TAP).

`edigate serve` execs edigate-serve (src/cmd_serve.c) so that edigate
links none of the daemon's libraries.  Checked here: edigate needs
(readelf -d) no libcurl, libmicrohttpd, libssh2 or libsystemd, and
edigate-serve needs them; `edigate serve` becomes the daemon in the same
process (the pid the daemon logs and notifies systemd from, /proc/PID/exe
is edigate-serve, the command line is the one given, -o before "serve"
reaches the daemon, SIGTERM to that pid stops it with 0); edigate takes
the edigate-serve beside it (a build tree) with its arguments in order,
and without one the installed program, else it exits 69 naming the path
it tried; usage and errors are the command's as before.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario  # noqa: E402
from scenario import EDIGATE, MAPS, ok, wait_for  # noqa: E402

BUILD = os.path.dirname(EDIGATE)
DAEMON = os.path.join(BUILD, "edigate-serve")
LIBEXEC = os.environ.get("EDIGATE_LIBEXEC_DIR", "")
DAEMON_LIBS = ("libcurl", "libmicrohttpd", "libssh2", "libsystemd")


def needed(prog):
    """The NEEDED entries of prog's dynamic section, or None without
    readelf."""
    try:
        out = subprocess.run(["readelf", "-d", prog], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines()
            if "(NEEDED)" in line]


def skip(why):
    scenario.n += 1
    print("ok %d # SKIP %s" % (scenario.n, why))


def with_systemd():
    try:
        with open(os.path.join(os.environ.get("top_builddir", BUILD),
                               "config.h")) as f:
            return "#define HAVE_LIBSYSTEMD 1" in f.read()
    except OSError:
        return False


def run(args, env=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=60,
                          env=env)


def test_libraries():
    ne, nd = needed(EDIGATE), needed(DAEMON)
    if ne is None or nd is None:
        skip("readelf not found")
        return
    for lib in DAEMON_LIBS:
        ok(not any(n.startswith(lib + ".") for n in ne),
           "edigate does not need %s" % lib, ne)
        if lib == "libsystemd" and not with_systemd():
            continue
        ok(any(n.startswith(lib + ".") for n in nd),
           "edigate-serve needs %s" % lib, nd)


def notify_socket(tmp):
    """A datagram socket like systemd's NOTIFY_SOCKET, which receives the
    sender's pid with each message."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = os.path.join(tmp, "notify")
    s.bind(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.settimeout(60)
    return s, path


def notified(s):
    """(pid, message) of the next notification."""
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            return struct.unpack("iII", data[:12])[0], msg.decode()
    return None, msg.decode()


def test_same_process(tmp):
    os.makedirs(os.path.join(tmp, "partners.d"))
    conf = os.path.join(tmp, "edigate.ini")
    with open(conf, "w") as f:
        f.write("[gateway]\nstate_dir = state\npartners_dir = partners.d\n"
                "maps_dir = %s\n" % MAPS)
    errlog = os.path.join(tmp, "serve.log")
    sd = with_systemd()
    env = dict(os.environ)
    if sd:
        ns, env["NOTIFY_SOCKET"] = notify_socket(tmp)
    args = [EDIGATE, "-o", "gateway.state_dir=other", "serve", "-c", conf]
    with open(errlog, "w") as err:
        p = subprocess.Popen(args, stderr=err, env=env, cwd=tmp)
    try:
        same_process(p, args, tmp, errlog, ns if sd else None)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def same_process(p, args, tmp, errlog, ns):
    log = lambda: open(errlog).read()  # noqa: E731
    wait_for(lambda: "serve: ready" in log() or p.poll() is not None)
    ok("serve: ready pid=%d " % p.pid in log(),
       "edigate serve: the daemon logs the pid edigate started with",
       log())
    try:
        exe = os.readlink("/proc/%d/exe" % p.pid)
        cmdline = open("/proc/%d/cmdline" % p.pid).read().split("\0")[:-1]
    except OSError as e:
        exe = cmdline = repr(e)
    ok(exe == os.path.realpath(DAEMON),
       "/proc/PID/exe is the edigate-serve beside edigate", exe)
    ok(cmdline == args, "the daemon's command line is the one given",
       cmdline)
    ok(os.path.isdir(os.path.join(tmp, "other", "store")),
       "-o before serve reaches the daemon", os.listdir(tmp))
    if ns is not None:
        pid, msg = notified(ns)
        ok(pid == p.pid and "READY=1" in msg,
           "sd_notify READY=1 comes from the pid edigate started with",
           "pid %s (edigate %d): %r" % (pid, p.pid, msg))
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    ok(rc == 0 and "serve: stopped" in log(),
       "SIGTERM to that pid stops the daemon, exit 0", "%s\n%s" % (rc, log()))


def test_finding(tmp):
    """A copy of edigate in a folder of its own: no program beside it."""
    lone = os.path.join(tmp, "bin")
    os.makedirs(lone)
    eg = os.path.join(lone, "edigate")
    shutil.copy2(EDIGATE, eg)
    beside = os.path.join(lone, "edigate-serve")
    installed = os.path.join(LIBEXEC, "edigate-serve")

    r = run([eg, "serve", "-c", "x.ini"])
    if not LIBEXEC or os.path.exists(installed):
        skip("%s is installed" % installed)
    else:
        ok(r.returncode == 69 and r.stderr ==
           "edigate serve: cannot run the daemon program %s: No such file "
           "or directory\n" % installed,
           "no daemon program: exit 69 naming the installed path",
           "%d %r" % (r.returncode, r.stderr))
    # other commands do not need it
    r = run([eg, "--version"])
    ok(r.returncode == 0 and r.stdout.startswith("edigate "),
       "edigate --version runs without edigate-serve", r.stderr)

    # one beside it is taken, with edigate's arguments, in this process
    with open(beside, "w") as f:
        f.write('#!/bin/sh\necho "$$ $*"\nexit 3\n')
    os.chmod(beside, 0o755)
    p = subprocess.Popen([eg, "-o", "a.b=c", "serve", "-c", "x y.ini"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, err = p.communicate(timeout=60)
    ok(p.returncode == 3 and out == "%d -o a.b=c serve -c x y.ini\n" % p.pid,
       "the program beside edigate runs in its process, with its "
       "arguments, and its exit code is the command's",
       "%d %r %r" % (p.returncode, out, err))
    # only a regular executable file, in a folder only its owner may
    # write to, is taken; otherwise the installed daemon is
    def falls_back(what):
        r = run([eg, "serve", "-c", "x.ini"])
        if not LIBEXEC or os.path.exists(installed):
            skip("%s is installed" % installed)
            return
        ok(r.returncode == 69 and r.stderr ==
           "edigate serve: cannot run the daemon program %s: No such file "
           "or directory\n" % installed,
           "%s beside edigate is not run: the installed path is" % what,
           "%d %r" % (r.returncode, r.stderr))
    os.chmod(beside, 0o644)
    falls_back("a file that is not executable")
    os.chmod(beside, 0o755)
    os.chmod(lone, 0o757)
    falls_back("a program in a folder others may write to")
    os.chmod(lone, 0o755)
    if os.geteuid() == 0:
        os.chown(beside, 65534, -1)	# nobody: neither edigate's owner nor root
        falls_back("a program owned by another user")
    os.unlink(beside)
    os.mkdir(beside)
    falls_back("a directory")
    os.rmdir(beside)


def test_usage():
    r = run([EDIGATE, "help"])
    ok(r.returncode == 0 and "\n  serve      run the gateway daemon" in
       r.stdout, "edigate help lists serve", r.stdout)
    r = run([EDIGATE, "serve", "--help"])
    ok(r.returncode == 0 and r.stdout.startswith(
        "usage: edigate serve [-c config] [-o section.key=value]\n\n"
        "run the gateway daemon (edigate(8)).\n"),
       "edigate serve --help", "%d %r" % (r.returncode, r.stdout))
    r = run([EDIGATE, "serve", "-x"])
    ok(r.returncode == 64 and r.stderr ==
       "serve: invalid option -- 'x'\n"
       "usage: edigate serve [-c config] [-o section.key=value]\n",
       "edigate serve -x: 64 and the usage", "%d %r" %
       (r.returncode, r.stderr))
    r = run([EDIGATE, "serve", "-c", "/nonexistent/edigate.ini"])
    ok(r.returncode == 78, "edigate serve on a missing configuration: 78",
       "%d %r" % (r.returncode, r.stderr))
    r = run([DAEMON, "--help"])
    ok(r.returncode == 0 and r.stdout.startswith("usage: edigate serve "),
       "edigate-serve run by hand, without \"serve\"", r.stdout)


def main():
    test_libraries()
    tmp = tempfile.mkdtemp(prefix="edigate-programs-")
    try:
        test_same_process(tmp)
        test_finding(tmp)
        test_usage()
    finally:
        if not scenario.failed:
            shutil.rmtree(tmp, ignore_errors=True)
    return scenario.plan()


if __name__ == "__main__":
    sys.exit(main())
