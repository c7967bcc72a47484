#!/usr/bin/env python3
"""daemon.py: scenario tests of `edigate serve` against real processes.

The daemon runs as its own process on a configuration written here, with
partners on dir channels in a temporary folder; tests/erp_receiver.py, a
real HTTP server, stands in for the ERP and records every request.  Each
scenario asserts on what the receiver got, on the partners' outboxes and
on the store as the operator CLI (`edigate docs|dlq|jobs|show --json`)
reports it.  Everything is started on 127.0.0.1 with free ports and
stopped by pid.  TAP on stdout.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario  # noqa: E402
from scenario import (EDIGATE, MAPS, TOP, Gateway, Receiver, free_port,  # noqa
                      isa, ok, set850, wait_for, x850, x855)



def listing(v, key):
    return v[key] if isinstance(v, dict) else v


def keys_by_event(reqs):
    """(type, subject) -> set of Idempotency-Key headers seen."""
    m = {}
    for r in reqs:
        ev = r["event"] or {}
        m.setdefault((ev.get("type"), ev.get("subject")), set()).add(
            r["hdr"].get("idempotency-key"))
    return m


# --- scenarios -----------------------------------------------------------

def scenario_basic(tmp):
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url, extra="reference = /id\n")
    gw.start()
    ok(gw.p.poll() is None, "daemon starts", gw.log())
    gw.drop("acme-retail", "po1.edi", x850(101, "PO-101"))
    reqs = wait_for(lambda: rc.delivered())
    ok(len(reqs) == 1, "one event reaches the ERP", rc.requests())
    if reqs:
        r = reqs[0]
        ok(r["hdr"].get("content-type") == "application/cloudevents+json",
           "Content-Type application/cloudevents+json", r["hdr"])
        ok(r["hdr"].get("idempotency-key") == r["event"]["idempotencykey"],
           "Idempotency-Key is the event's idempotency key", r["hdr"])
        ok(r["event"]["type"] == "order.created" and
           r["event"]["subject"] == "PO-101", "order.created for PO-101")
    ok(wait_for(lambda: gw.inbox() == []), "file removed from the inbox")
    out = wait_for(lambda: gw.outbox())
    ok(len(out) == 1 and "AK5*A" in out[0] and "AK1*PO*101" in out[0],
       "positive 997 written to the outbox", out)
    docs = gw.docs()
    ins = [d for d in docs if d["direction"] == "inbound"]
    ok(len(ins) == 1 and ins[0]["state"] == "translated" and
       ins[0]["icn"] == "000000101", "document translated in the store",
       docs)
    ok(len(gw.docs(type="850")) == 1 and ins and
       ins[0]["sender"] == "ZZ:ACMERETAIL", "recorded as an 850 from "
       "ZZ:ACMERETAIL (docs --type 850)", docs)
    outs = [d for d in gw.docs() if d["direction"] == "outbound"]
    ok(len(outs) == 1 and ins and outs[0]["doctype"] == "997" and
       outs[0]["about"] == ins[0]["id"],
       "the 997 is stored as the answer to the 850 (about)", outs)
    acks = listing(gw.json("acks"), "acks")
    ok(any(a["kind"] == "po_ack" and a["ref"] == "PO-101" and
           a["state"] == "pending" for a in acks),
       "the order awaits its PO acknowledgement", acks)
    ok(wait_for(lambda: any(a["kind"] == "erp" and a["state"] == "accepted"
               and "SO1" in a["reason"]
               for a in listing(gw.json("acks"), "acks"))),
       "ERP import ack resolved by the 2xx, with the ERP's reference "
       "(JSON pointer /id)", gw.json("acks"))
    rcode = gw.stop()
    ok(rcode == 0, "SIGTERM: exit 0", gw.log())
    ok("serve: stopped" in gw.log(), "logs its stop")
    rc.stop()


def scenario_down_then_up(tmp):
    rc = Receiver(tmp)
    rc.ctl(mode="fail500")
    gw = Gateway(tmp, rc.url)
    gw.start()
    gw.drop("acme-retail", "a-850.edi", x850(201, "PO-201"))
    wait_for(lambda: len(rc.requests()) >= 1)
    gw.drop("acme-retail", "a-855.edi", x855(202, "PO-201"))
    gw.drop("acme-retail", "b-850.edi", x850(203, "PO-203"))
    wait_for(lambda: len(rc.requests()) >= 6)
    ok(len(rc.requests()) >= 3 and not rc.delivered(),
       "ERP down: attempts made, nothing delivered",
       len(rc.requests()))
    rc.ctl(mode="ok")
    got = wait_for(lambda: len(set(r["hdr"]["idempotency-key"]
                                   for r in rc.delivered())) >= 3)
    dl = rc.delivered()
    keys = [r["hdr"]["idempotency-key"] for r in dl]
    ok(got and len(keys) == 3 and len(set(keys)) == 3,
       "every event delivered exactly once after the ERP is back", keys)
    m = keys_by_event(rc.requests())
    ok(all(len(v) == 1 for v in m.values()),
       "the same Idempotency-Key on every attempt", m)
    order = [(r["event"]["type"]) for r in dl
             if r["event"]["businesskey"].endswith(":PO-201")]
    ok(order == ["order.created", "order.acknowledged"],
       "in order per business key: the 855 never overtakes its 850", order)
    first = [r for r in rc.requests()
             if r["event"]["type"] == "order.acknowledged"]
    created_ok = [r["seq"] for r in dl if r["event"]["type"] ==
                  "order.created" and r["event"]["subject"] == "PO-201"]
    ok(first and created_ok and first[0]["seq"] > created_ok[0],
       "the 855 was not even tried before its 850 was delivered",
       [(r["seq"], r["event"]["type"]) for r in rc.requests()])
    acks = listing(gw.json("acks"), "acks")
    ok(any(a["kind"] == "po_ack" and a["ref"] == "PO-201" and
           a["state"] == "accepted" for a in acks),
       "the 855 resolves the PO acknowledgement expectation", acks)
    ok(any(a["kind"] == "ship_notice" and a["ref"] == "PO-201" and
           a["state"] == "pending" for a in acks),
       "and now the ship notice is awaited", acks)
    ok(gw.stop() == 0, "stops cleanly")
    rc.stop()


def scenario_dead_letter(tmp):
    rc = Receiver(tmp)
    rc.ctl(mode="fail400")
    gw = Gateway(tmp, rc.url)
    gw.start()
    gw.drop("acme-retail", "x.edi", x850(301, "PO-301"))
    dead = wait_for(lambda: listing(gw.json("dlq"), "jobs"))
    ok(len(dead) == 1, "HTTP 400: the event is a dead letter", dead)
    ok(dead and "400" in dead[0]["error"] and "sku unknown" in
       dead[0]["error"], "dlq says why (status and body)", dead)
    ok(len(rc.requests()) == 1, "a permanent failure is not retried",
       len(rc.requests()))
    rcode, out, err = gw.cli("dlq")
    ok(rcode == 0 and "400" in out, "human dlq listing shows it", out + err)
    rc.ctl(mode="ok")
    rcode, out, err = gw.cli("replay", dead[0]["id"])
    ok(rcode == 0, "replay accepted", out + err)
    ok(wait_for(lambda: rc.delivered()), "replay delivers it", rc.requests())
    keys = [r["hdr"]["idempotency-key"] for r in rc.requests()]
    ok(len(set(keys)) == 1, "same Idempotency-Key after replay", keys)
    ok(wait_for(lambda: not listing(gw.json("dlq"), "jobs")),
       "dead-letter queue empty again")
    gw.stop()
    rc.stop()


def scenario_duplicate(tmp, policy="ack"):
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url, pextra="duplicate = %s\n" % policy)
    gw.start()
    doc = x850(401, "PO-401")
    gw.drop("acme-retail", "one.edi", doc)
    wait_for(lambda: rc.delivered())
    wait_for(lambda: gw.inbox() == [])
    # the first 997 is written by a send job of its own: once it is in
    # the outbox, a second one can only be the duplicate's
    wait_for(lambda: gw.outbox())
    gw.drop("acme-retail", "again.edi", doc)
    wait_for(lambda: len([d for d in gw.docs()
                          if d["direction"] == "inbound"]) == 2 and
             all(d["state"] != "received" for d in gw.docs()))
    time.sleep(0.5)
    docs = [d for d in gw.docs() if d["direction"] == "inbound"]
    states = sorted(d["state"] for d in docs)
    ok(states == ["duplicate", "translated"],
       "the same interchange twice: one translated, one duplicate", docs)
    ok(len(rc.requests()) == 1, "one set of events at the ERP",
       len(rc.requests()))
    if policy == "ack":
        out = wait_for(lambda: len(gw.outbox()) == 2 and gw.outbox())
        ok(out and all("AK5*A" in o for o in out),
           "the duplicate gets its positive 997 again (default)", out)
    else:
        time.sleep(0.5)
        out = gw.outbox()
        ok(len(out) == 1 and "AK5*A" in out[0],
           "duplicate = none: no second 997", out)
    gw.stop()
    rc.stop()


def scenario_malformed(tmp):
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url)
    gw.start()
    gw.drop("acme-retail", "bad.edi", x850(501, "PO-501", bad_count=True))
    rej = wait_for(lambda: gw.docs(state="rejected"))
    ok(len(rej) == 1 and rej[0]["name"] == "bad.edi",
       "malformed: rejected", gw.docs())
    ok(rej and "SE" in rej[0]["error"], "the rejection names the segment",
       rej)
    out = wait_for(lambda: gw.outbox())
    ok(out and "AK5*R" in out[0] and "AK9*R" in out[0],
       "a negative 997 in the outbox", out)
    if rej:
        show = gw.json("show", rej[0]["id"])
        text = json.dumps(show)
        ok("X12-SE-COUNT" in text or "SE" in text,
           "show gives the diagnostics", text[:2000])
    reqs = wait_for(lambda: rc.delivered())
    evs = [r["event"] for r in reqs]
    ok(len(evs) == 1 and evs[0]["type"] == "document.rejected" and
       evs[0]["subject"] == "bad.edi", "only document.rejected reaches the "
       "ERP", evs)
    if evs:
        d = evs[0]["data"]
        ok(d["reason"] == "syntax" and d["docId"] == rej[0]["id"] and
           d["diagnostics"][0]["code"] == "X12-SE-COUNT" and
           d["diagnostics"][0]["segmentNumber"] == 9 and
           d["ackSent"]["type"] == "997",
           "document.rejected names the document, the segment, the code "
           "and the negative 997 sent", d)
    gw.stop()
    rc.stop()


def scenario_overdue(tmp):
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url, pextra="[acks]\npo_ack = 1s\n")
    gw.start()
    gw.drop("acme-retail", "o.edi", x850(901, "PO-901"))
    ev = wait_for(lambda: [r["event"] for r in rc.delivered()
                           if r["event"]["type"] == "ack.overdue"])
    ok(len(ev) == 1 and ev[0]["subject"] == "PO-901" and
       ev[0]["data"]["expectation"]["kind"] == "855" and
       ev[0]["businesskey"] == "order:acme-retail:PO-901",
       "no 855 within po_ack: ack.overdue reaches the ERP", ev)
    types = [r["event"]["type"] for r in rc.delivered()]
    ok(types == ["order.created", "ack.overdue"],
       "after the order, in its business key's order", types)
    rcode, out, err = gw.cli("acks", "--overdue")
    ok(rcode == 0 and "PO-901" in out and "overdue" in out,
       "edigate acks --overdue shows it", out + err)
    time.sleep(1.5)
    ok(len([r for r in rc.requests()
            if r["event"]["type"] == "ack.overdue"]) == 1,
       "raised once, not on every timer tick")
    gw.stop()
    rc.stop()


def scenario_unknown_sender(tmp):
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url)
    gw.start()
    gw.drop("acme-retail", "who.edi", x850(601, "PO-601", sender="STRANGER"))
    q = wait_for(lambda: gw.docs(state="quarantined"))
    ok(len(q) == 1 and "unknown sender ZZ:STRANGER" in q[0]["error"],
       "unknown sender quarantined with a clear reason", gw.docs())
    ok(wait_for(lambda: gw.inbox() == []),
       "quarantined documents are kept in the store, not the inbox")
    ev = wait_for(lambda: rc.delivered())
    ok(ev and ev[0]["event"]["type"] == "document.rejected" and
       ev[0]["event"]["data"]["reason"] == "unknown-partner",
       "document.rejected with reason unknown-partner", ev)
    gw.stop()
    rc.stop()


def scenario_reload(tmp):
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url, partners=("acme-retail", "bolt-supply"))
    os.rename(os.path.join(tmp, "partners.d", "bolt-supply.ini"),
              os.path.join(tmp, "bolt.off"))
    gw.start()
    gw.drop("bolt-supply", "b.edi", x850(701, "PO-701", sender="BOLT"))
    time.sleep(0.5)
    ok(gw.inbox("bolt-supply") == ["b.edi"],
       "an unconfigured partner's inbox is not polled")
    with open(os.path.join(tmp, "partners.d", "broken.ini"), "w") as f:
        f.write("[partner]\nack = 998\n")
    gw.p.send_signal(signal.SIGHUP)
    ok(wait_for(lambda: "reload refused" in gw.log()),
       "SIGHUP with a bad partner file: refused", gw.log())
    os.unlink(os.path.join(tmp, "partners.d", "broken.ini"))
    # a map that does not compile is refused the same way
    maps = os.path.join(tmp, "maps")
    shutil.copytree(MAPS, maps)
    with open(gw.conf) as f:
        text = f.read()
    with open(gw.conf, "w") as f:
        f.write(text.replace("maps_dir = %s" % MAPS, "maps_dir = %s" %
                             maps))
    with open(os.path.join(maps, "x12", "broken.map"), "w") as f:
        f.write("map broken\nthis is not a rule\n")
    skip = len(gw.log())
    gw.p.send_signal(signal.SIGHUP)
    ok(wait_for(lambda: "reload refused" in gw.log()[skip:]),
       "SIGHUP with a map that does not compile: refused", gw.log()[skip:])
    os.unlink(os.path.join(maps, "x12", "broken.map"))
    os.rename(os.path.join(tmp, "bolt.off"),
              os.path.join(tmp, "partners.d", "bolt-supply.ini"))
    gw.p.send_signal(signal.SIGHUP)
    ok(wait_for(lambda: "serve: reloaded" in gw.log()), "SIGHUP reloads")
    ok(wait_for(lambda: gw.inbox("bolt-supply") == []),
       "the new partner's inbox is polled after the reload")
    ok(wait_for(lambda: any(r["event"]["subject"] == "PO-701"
                            for r in rc.delivered())),
       "and its order reaches the ERP")
    ok(gw.p.poll() is None, "the daemon kept running through both reloads")
    gw.stop()
    rc.stop()


def scenario_erp_options(tmp):
    """bearer auth, 429 with Retry-After, the ERP reference, async acks."""
    import socket
    rc = Receiver(tmp)
    with open(os.path.join(tmp, "erp.token"), "w") as f:
        f.write("s3cret-token\n")
    os.chmod(os.path.join(tmp, "erp.token"), 0o644)
    loose = Gateway(os.path.join(tmp, "loose"), rc.url,
                    extra="auth = bearer\ntoken_file = ../erp.token\n")
    loose.start()
    ok(loose.p.wait(60) == 78 and "[erp] token_file" in loose.log() and
       "readable or writable by group or others" in loose.log(),
       "a token file others can read: serve refuses to start", loose.log())
    os.chmod(os.path.join(tmp, "erp.token"), 0o600)
    port = free_port()
    gw = Gateway(tmp, rc.url, extra="auth = bearer\ntoken_file = erp.token\n"
                 "reference = /id\nack = async\n[http]\n"
                 "listen = 127.0.0.1:%d\n" % port)
    with open(gw.conf) as f:
        text = f.read()
    with open(gw.conf, "w") as f:
        f.write(text.replace("retry_max = 500ms", "retry_max = 5s"))
    # systemd readiness: a datagram socket standing in for NOTIFY_SOCKET
    nsock = os.path.join(tmp, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(nsock)
    ns.settimeout(30)
    rc.ctl(sequence=["fail429"], retry_after=2)
    gw.start({"NOTIFY_SOCKET": nsock, "WATCHDOG_USEC": "1000000"})
    msgs = []
    end = time.time() + 30
    while time.time() < end and not any("WATCHDOG=1" in m for m in msgs):
        try:
            msgs.append(ns.recv(4096).decode())
        except OSError as e:
            msgs.append(repr(e))
            break
    ok(msgs and "READY=1" in msgs[0], "sd_notify READY=1 once serving",
       msgs)
    ok(any("WATCHDOG=1" in m for m in msgs),
       "sd_notify WATCHDOG=1 within WatchdogSec", msgs)
    gw.drop("acme-retail", "o.edi", x850(1101, "PO-1101"))
    dl = wait_for(lambda: rc.delivered())
    reqs = rc.requests()
    ok(len(reqs) == 2 and reqs[0]["status"] == 429 and
       reqs[1]["status"] == 201, "429 first, then delivered",
       [(r["status"], r["time"]) for r in reqs])
    if len(reqs) == 2:
        gap = reqs[1]["time"] - reqs[0]["time"]
        ok(gap >= 1.9, "Retry-After: 2 honoured (%.2f s between tries, "
           "retry_min 100ms, retry_max 5s)" % gap)
        ok(all(r["hdr"].get("authorization") == "Bearer s3cret-token"
               for r in reqs), "Authorization: Bearer on every attempt",
           [r["hdr"].get("authorization") for r in reqs])
    acks = listing(gw.json("acks"), "acks")
    erp = [a for a in acks if a["kind"] == "erp"]
    ok(len(erp) == 1 and erp[0]["state"] == "pending",
       "ack = async: a 2xx does not resolve the ERP import ack", erp)
    if dl:
        evid = dl[0]["event"]["id"]
        req = urllib.request.Request(
            "http://127.0.0.1:%d/v1/events/%s/ack" % (port, evid),
            data=json.dumps({"status": "accepted",
                             "reference": "SO-77"}).encode(),
            method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                body = json.loads(r.read())
        except Exception as e:
            body = repr(e)
        ok(isinstance(body, dict) and body.get("resolved") is True,
           "POST /v1/events/ID/ack resolves it", body)
        erp = [a for a in listing(gw.json("acks"), "acks")
               if a["kind"] == "erp"]
        ok(erp and erp[0]["state"] == "accepted" and
           "SO-77" in erp[0]["reason"], "the ledger has the ERP reference",
           erp)
        rcode, out, err = gw.cli("show", evid)
        ok(rcode == 0 and "order.created" in out,
           "the id the ERP saw is the event's id in the store", out + err)
    ns.close()
    gw.stop()
    rc.stop()


FAILPOINTS = ["intake-after-read", "intake-before-commit",
              "intake-after-commit", "pipeline-before-commit",
              "pipeline-after-commit", "outbox-after-write",
              "forward-before-settle"]


def scenario_failpoint(tmp, fp):
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url)
    gw.start({"EDIGATE_FAILPOINT": fp})
    gw.drop("acme-retail", "f.edi", x850(801, "PO-801"))
    try:
        code = gw.p.wait(60)
    except subprocess.TimeoutExpired:
        code = None
    ok(code == 99, "%s: the daemon dies there" % fp, gw.log())
    if fp.startswith("intake-after-read") or fp == "intake-before-commit":
        ok(gw.inbox() == ["f.edi"], "%s: the file is still in the inbox" %
           fp, gw.inbox())
    gw.err.close()
    gw.start()
    ok(wait_for(lambda: gw.inbox() == []), "%s: taken after restart" % fp)
    ok(wait_for(lambda: rc.delivered()), "%s: event delivered" % fp)
    ok(wait_for(lambda: gw.outbox()), "%s: 997 written" % fp)
    # a re-take of the file is stored "received" and only then marked a
    # duplicate by the pipeline: wait until no document is in between
    wait_for(lambda: all(d["state"] != "received" for d in gw.docs()
                         if d["direction"] == "inbound"))
    time.sleep(0.5)
    m = keys_by_event(rc.delivered())
    ok(len(m) == 1 and all(len(v) == 1 for v in m.values()),
       "%s: the ERP saw the order under one Idempotency-Key" % fp, m)
    docs = [d for d in gw.docs() if d["direction"] == "inbound"]
    ok(docs and all(d["state"] in ("translated", "duplicate") for d in docs)
       and sum(d["state"] == "translated" for d in docs) == 1,
       "%s: one translated document (a re-take is a duplicate)" % fp, docs)
    gw.stop()
    rc.stop()


def scenario_crash(tmp, count=2000, kills=5):
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url, extra="connections = 16\n")
    gw.start()
    rnd = random.Random(42)
    kill_at = sorted(rnd.sample(range(50, count), kills))
    for i in range(count):
        gw.drop("acme-retail", "c%05d.edi" % i, x850(10000 + i, "C-%d" % i))
        if kill_at and i == kill_at[0]:
            kill_at.pop(0)
            time.sleep(rnd.random() * 0.3)
            gw.kill()
            gw.start()
    subjects = set("C-%d" % i for i in range(count))
    got = wait_for(lambda: subjects <= set(
        r["event"]["subject"] for r in rc.delivered()), 180, 0.5)
    dl = rc.delivered()
    ok(got, "crash test: all %d orders reached the ERP after %d SIGKILLs" %
       (count, kills), len(set(r["event"]["subject"] for r in dl)))
    m = keys_by_event(rc.requests())
    ok(all(len(v) == 1 for v in m.values()),
       "crash test: every event under one stable Idempotency-Key",
       [kv for kv in m.items() if len(kv[1]) > 1][:5])
    ok(wait_for(lambda: gw.inbox() == [], 60), "crash test: inbox empty")
    docs = [d for d in gw.docs() if d["direction"] == "inbound"]
    wait_for(lambda: all(d["state"] != "received" for d in
                         [d for d in gw.docs() if d["direction"] ==
                          "inbound"]), 60)
    docs = [d for d in gw.docs() if d["direction"] == "inbound"]
    icns = {}
    for d in docs:
        icns.setdefault(d["icn"], []).append(d["state"])
    ok(len(icns) == count and all(
        sorted(v)[-1] == "translated" and v.count("translated") == 1 and
        all(s in ("translated", "duplicate") for s in v)
        for v in icns.values()),
       "crash test: every document accounted for (translated once, "
       "re-takes duplicate)", [kv for kv in icns.items()
                               if kv[1].count("translated") != 1][:5])
    ok(gw.stop() == 0, "crash test: clean stop at the end")
    rc.stop()


def main():
    only = sys.argv[1:] or None
    scenarios = [("basic", scenario_basic),
                 ("down_then_up", scenario_down_then_up),
                 ("dead_letter", scenario_dead_letter),
                 ("duplicate", scenario_duplicate),
                 ("duplicate_none",
                  lambda t: scenario_duplicate(t, "none")),
                 ("malformed", scenario_malformed),
                 ("unknown_sender", scenario_unknown_sender),
                 ("overdue", scenario_overdue),
                 ("erp_options", scenario_erp_options),
                 ("reload", scenario_reload)]
    scenarios += [("fp:" + fp, lambda t, fp=fp: scenario_failpoint(t, fp))
                  for fp in FAILPOINTS]
    scenarios.append(("crash", scenario_crash))
    for name, fn in scenarios:
        if only and name not in only:
            continue
        tmp = tempfile.mkdtemp(prefix="edigate-daemon-")
        print("# scenario %s in %s" % (name, tmp))
        try:
            fn(tmp)
        except Exception as e:  # a scenario that breaks is a failure
            ok(False, "scenario %s ran to its end" % name, repr(e))
        finally:
            subprocess.run(["pkill", "-KILL", "-f", tmp],
                           stderr=subprocess.DEVNULL)
            if not scenario.failed:
                shutil.rmtree(tmp, ignore_errors=True)
    return scenario.plan()


if __name__ == "__main__":
    sys.exit(main())
