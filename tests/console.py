#!/usr/bin/env python3
"""console.py: the operator console of `edigate serve` over real HTTP (TAP).

A daemon runs with [http] listen on a free loopback port and a tokens file
(alice: operator, bob: read, erpbot: erp); known traffic goes through its
dir channel (an 850 and its 855, a malformed 850, an 850 the ERP refuses
so it becomes a dead letter).  Every /v1 endpoint is called with and
without the right token; the dashboard pages are fetched and checked for
their content and escaping; /metrics is parsed by a strict Prometheus
text-format parser and its values compared with the API's.

`console.py --browser` prepares the same daemon and traffic, then runs
tests/browser.js (headless Chromium through playwright-core) and passes
its TAP through (tests/console_browser.sh).
"""

import hashlib
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

BUILD = os.environ.get("top_builddir", ".")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario  # noqa: E402
from scenario import (EDIGATE, MAPS, TOP, Gateway, Receiver, free_port,  # noqa
                      isa, ok, set850, wait_for, x850, x855)



# --- HTTP ------------------------------------------------------------------

TOKENS = {"alice": ("operator", "a1" * 16), "bob": ("read", "b2" * 16),
          "erpbot": ("erp", "e3" * 16)}
OP, RO, ERP = TOKENS["alice"][1], TOKENS["bob"][1], TOKENS["erpbot"][1]


class Client:
    def __init__(self, port):
        self.port = port

    def req(self, method, path, token=None, body=None, headers=None,
            cookie=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if cookie is not None:
            h["Cookie"] = "edigate_token=" + cookie
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdr = dict((k.lower(), v) for k, v in r.getheaders())
        c.close()
        return r.status, hdr, data

    def get(self, path, token=None, **kw):
        return self.req("GET", path, token, **kw)

    def json(self, path, token=RO):
        st, h, data = self.get(path, token)
        try:
            return st, json.loads(data)
        except ValueError:
            return st, {"_raw": data.decode("utf-8", "replace")}

    def post(self, path, token=None, body=b"", **kw):
        return self.req("POST", path, token, body=body, **kw)


# --- a strict Prometheus text-format (0.0.4) parser -------------------------

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LNAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class PromError(Exception):
    pass


def parse_value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise PromError("bad value %r" % s)
    return float(s)


def parse_labels(s, i, lineno):
    """From s[i] == '{': (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if s[i] == "}":
            return labels, i + 1
        m = LNAME.match(s, i)
        if not m:
            raise PromError("line %d: bad label name" % lineno)
        name = m.group(0)
        i = m.end()
        if s[i] != "=" or s[i + 1] != '"':
            raise PromError("line %d: want =\" after %s" % (lineno, name))
        i += 2
        v = []
        while s[i] != '"':
            if s[i] == "\\":
                e = s[i + 1]
                if e not in '\\"n':
                    raise PromError("line %d: bad escape \\%s" % (lineno, e))
                v.append("\n" if e == "n" else e)
                i += 2
            elif s[i] == "\n":
                raise PromError("line %d: newline in a label" % lineno)
            else:
                v.append(s[i])
                i += 1
        i += 1
        if name in labels:
            raise PromError("line %d: label %s twice" % (lineno, name))
        labels[name] = "".join(v)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise PromError("line %d: want , or }" % lineno)


def family_of(name, types):
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and types.get(name[:-len(suf)]) in (
                "histogram", "summary"):
            return name[:-len(suf)]
    return name


def parse_prom(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}."""
    if not text.endswith("\n"):
        raise PromError("no final newline")
    fams, types, done, cur = {}, {}, set(), None
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise PromError("line %d: bad name %r" % (lineno, name))
                f = fams.setdefault(name, {"type": None, "help": None,
                                           "samples": []})
                key = parts[1].lower()
                if f[key] is not None:
                    raise PromError("line %d: second %s for %s"
                                    % (lineno, parts[1], name))
                if name in done or (cur not in (None, name) and
                                    f["samples"]):
                    raise PromError("line %d: %s for %s after its "
                                    "samples" % (lineno, parts[1], name))
                if key == "type":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise PromError("line %d: bad TYPE" % lineno)
                    if f["samples"]:
                        raise PromError("line %d: TYPE after samples"
                                        % lineno)
                    types[name] = parts[3]
                    f["type"] = parts[3]
                else:
                    f["help"] = parts[3] if len(parts) == 4 else ""
                if cur != name:
                    if cur is not None:
                        done.add(cur)
                    cur = name
            continue
        m = NAME.match(line)
        if not m:
            raise PromError("line %d: bad sample %r" % (lineno, line))
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line + "\n", i, lineno)
        if i >= len(line) or line[i] != " ":
            raise PromError("line %d: want a space before the value" % lineno)
        rest = line[i + 1:].split(" ")
        if len(rest) not in (1, 2):
            raise PromError("line %d: trailing text" % lineno)
        value = parse_value(rest[0])
        if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
            raise PromError("line %d: bad timestamp" % lineno)
        fam = family_of(name, types)
        if fam in done:
            raise PromError("line %d: family %s interleaved" % (lineno, fam))
        if cur != fam:
            if cur is not None:
                done.add(cur)
            cur = fam
        f = fams.setdefault(fam, {"type": None, "help": None, "samples": []})
        key = (name, tuple(sorted(labels.items())))
        if any((n, tuple(sorted(lb.items()))) == key
               for n, lb, _ in f["samples"]):
            raise PromError("line %d: series repeated" % lineno)
        f["samples"].append((name, labels, value))
    for name, f in fams.items():
        if f["type"] == "histogram":
            check_histogram(name, f)
        if f["type"] == "counter" and not name.endswith("_total"):
            raise PromError("counter %s does not end in _total" % name)
    return fams


def check_histogram(name, f):
    groups = {}
    for n, lb, v in f["samples"]:
        rest = tuple(sorted((k, x) for k, x in lb.items() if k != "le"))
        g = groups.setdefault(rest, {"b": [], "sum": None, "count": None})
        if n == name + "_bucket":
            if "le" not in lb:
                raise PromError("%s bucket without le" % name)
            g["b"].append((parse_value(lb["le"]), v))
        elif n == name + "_sum":
            g["sum"] = v
        elif n == name + "_count":
            g["count"] = v
        else:
            raise PromError("%s: stray sample %s" % (name, n))
    for g in groups.values():
        les = [le for le, _ in g["b"]]
        if les != sorted(les) or not les or les[-1] != math.inf:
            raise PromError("%s: buckets not ordered up to +Inf" % name)
        vals = [v for _, v in g["b"]]
        if vals != sorted(vals):
            raise PromError("%s: buckets not cumulative" % name)
        if g["count"] is None or g["sum"] is None or vals[-1] != g["count"]:
            raise PromError("%s: _count is not the +Inf bucket" % name)


def series(fams, name, **labels):
    fam = fams.get(family_of(name, dict((k, v["type"]) for k, v in
                                        fams.items())), {"samples": []})
    for n, lb, v in fam["samples"]:
        if n == name and lb == labels:
            return v
    return None


# --- the daemon and its traffic --------------------------------------------

def start(tmp):
    """Daemon, receiver and known traffic: (gw, rc, client, ids)."""
    port = free_port()
    # `edigate token` makes one more: its stanza as printed, its token
    # from the comment it is shown in once
    r = subprocess.run([EDIGATE, "token", "--role", "read", "carol"],
                       capture_output=True, text=True)
    m = re.search(r"^#   ([0-9a-f]{64})$", r.stdout, re.M)
    TOKENS["carol"] = ("read", m.group(1) if m else "")
    made = (r.returncode, r.stdout, TOKENS["carol"][1])
    with open(os.path.join(tmp, "tokens.ini"), "w") as f:
        for name, (role, tok) in TOKENS.items():
            if name == "carol":
                f.write(r.stdout)
                continue
            f.write("[%s]\nrole = %s\nsha256 = %s\n" %
                    (name, role, hashlib.sha256(tok.encode()).hexdigest()))
    rc = Receiver(tmp)
    gw = Gateway(tmp, rc.url, extra="[http]\nlisten = 127.0.0.1:%d\n"
                 "tokens = tokens.ini\n" % port,
                 pextra='name = "<b>Acme & Sons</b>"\n')
    gw.start()
    if gw.p.poll() is not None:
        raise RuntimeError("the daemon does not start: " + gw.log())
    c = Client(port)
    ids = {"token_made": made}
    gw.drop("acme-retail", "po2001.edi", x850(2001, "PO-2001"))
    wait_for(lambda: len(rc.delivered()) >= 1)
    gw.drop("acme-retail", "ack2001.edi", x855(2002, "PO-2001"))
    wait_for(lambda: len(rc.delivered()) >= 2)
    gw.drop("acme-retail", "bad3001.edi", x850(3001, "PO-3001",
                                               bad_count=True))
    wait_for(lambda: any(d["state"] == "rejected" for d in gw.docs()))
    # its document.rejected event must have had its 2xx before the ERP
    # turns to refusing: else it is a second dead letter
    wait_for(lambda: len(rc.delivered()) >= 3)
    rc.ctl(mode="fail400")
    gw.drop("acme-retail", "po4001.edi", x850(4001, "PO-4001"))
    dead = wait_for(lambda: gw.json("dlq"))
    rc.ctl(mode="ok")
    if not dead:
        raise RuntimeError("no dead letter: %s" % rc.requests())
    ids["dead"] = dead[0]["id"]
    ids["raw850"] = x850(2001, "PO-2001")
    return gw, rc, c, ids


def stop(gw, rc):
    gw.stop()
    rc.stop()


# --- the API ---------------------------------------------------------------

def api_tests(gw, rc, c, ids):
    code, out, tok = ids["token_made"]
    ok(code == 0 and len(tok) == 64 and "[carol]\nrole   = read\n"
       "sha256 = " + hashlib.sha256(tok.encode()).hexdigest() in out,
       "edigate token: a fresh token and its SHA-256 stanza", out)
    st, who = c.json("/v1/whoami", token=tok)
    ok(st == 200 and who.get("name") == "carol" and
       who.get("role") == "read", "the token edigate token made is "
       "accepted, with its role", (st, who))
    st, h, body = c.get("/healthz")
    ok(st == 200 and body == b"ok\n", "/healthz: 200 ok")
    st, h, body = c.get("/readyz")
    ok(st == 200 and body == b"ready\n", "/readyz: store open, maps loaded")
    st, h, body = c.post("/healthz")
    ok(st == 405, "/healthz: POST is 405")

    # authorisation
    st, h, body = c.get("/v1/partners")
    ok(st == 401 and "bearer" in h.get("www-authenticate", "").lower(),
       "no token: 401 with WWW-Authenticate", (st, h))
    st, h, body = c.get("/v1/partners", "nope")
    ok(st == 401 and b"unknown token" in body, "unknown token: 401", body)
    st, h, body = c.get("/v1/partners", headers={"Authorization":
                                                  "Basic Ym9iOmI="})
    ok(st == 401, "another scheme: 401")
    st, h, body = c.get("/v1/partners", ERP)
    ok(st == 403, "erp token reads nothing: 403")
    st, who = c.json("/v1/whoami", RO)
    ok(st == 200 and who == {"name": "bob", "role": "read"},
       "whoami: the token's name and role", who)

    # partners
    st, v = c.json("/v1/partners")
    p = [x for x in v.get("partners", []) if x["id"] == "acme-retail"]
    ok(st == 200 and len(p) == 1, "/v1/partners: acme-retail", v)
    p = p[0] if p else {}
    docs = p.get("documents", {})
    ok(docs.get("rejected") == 1 and docs.get("total", 0) >= 7,
       "  document counts (4 received, 3 acks sent, 1 rejected)", docs)
    ok(p.get("acks_by_kind", {}).get("ship_notice", {}).get("pending") == 1
       and p["acks_by_kind"]["po_ack"]["accepted"] == 1,
       "  acknowledgements by kind: 855 came, 856 awaited", p)
    ch = p.get("channels", [{}])
    ok(ch and ch[0].get("type") == "dir" and ch[0].get("poll_errors") == 0,
       "  channel health: dir, no poll errors", ch)
    ok(p.get("last_received") and p.get("name") == "<b>Acme & Sons</b>",
       "  last activity and name", p)

    # documents: filters and paging
    st, v = c.json("/v1/documents?limit=100")
    all_docs = v.get("documents", [])
    ok(st == 200 and len(all_docs) == docs.get("total"),
       "/v1/documents: every document", (len(all_docs), docs))
    st, v = c.json("/v1/documents?state=rejected")
    ok([d["name"] for d in v["documents"]] == ["bad3001.edi"],
       "  ?state=rejected", v)
    st, v = c.json("/v1/documents?type=997&partner=acme-retail")
    ok(len(v["documents"]) == 4 and
       all(d["direction"] == "outbound" for d in v["documents"]),
       "  ?type=997&partner=: the acknowledgements sent", v)
    st, v = c.json("/v1/documents?po=PO-2001")
    names = sorted(d["name"] for d in v["documents"])
    ok("po2001.edi" in names and "ack2001.edi" in names and
       "po4001.edi" not in names and
       any(d["direction"] == "outbound" for d in v["documents"]),
       "  ?po=PO-2001: the 850, the 855 and the 997s sent", names)
    # the days the documents were received: today, or yesterday too when
    # the run crossed midnight UTC
    first = min([d["received"][:10] for d in all_docs] or ["?"])
    today = time.strftime("%Y-%m-%d", time.gmtime())
    st, v = c.json("/v1/documents?from=%s&to=%s&limit=100" % (first, today))
    ok(len(v["documents"]) == len(all_docs), "  ?from=&to= today: all",
       (first, today, v))
    st, v = c.json("/v1/documents?to=2000-01-01")
    ok(v["documents"] == [], "  ?to=2000-01-01: none", v)
    st, v = c.json("/v1/documents?from=yesterday")
    ok(st == 400, "  ?from=yesterday: 400", v)
    st, v = c.json("/v1/documents?state=lost")
    ok(st == 400 and "translated" in v.get("error", ""),
       "  ?state=lost: 400 naming the states", v)
    st, p1 = c.json("/v1/documents?limit=2")
    st2, p2 = c.json("/v1/documents?limit=2&cursor=%s" % p1.get("next"))
    ok(len(p1["documents"]) == 2 and p1["next"] and
       [d["id"] for d in p1["documents"] + p2["documents"]] ==
       [d["id"] for d in all_docs[:4]],
       "  paging: limit and cursor", (p1, p2))
    st, v = c.json("/v1/documents?cursor=zz")
    ok(st == 400, "  bad cursor: 400")

    # a document
    d850 = [d for d in all_docs if d["name"] == "po2001.edi"][0]
    st, v = c.json("/v1/documents/" + d850["id"])
    ok(st == 200 and v["document"]["name"] == "po2001.edi" and
       [e["type"] for e in v["events"]] == ["order.created"] and
       [j["state"] for j in v["jobs"] if j["kind"] == "forward"] ==
       ["done"] and
       any(a["kind"] == "erp" for a in v["acks"]),
       "/v1/documents/ID: events, deliveries, acknowledgements", v)
    ok([s["doctype"] for s in v.get("acks_sent", [])] == ["997"],
       "  the 997 sent for it", v.get("acks_sent"))
    st, v = c.json("/v1/documents/" + d850["id"][:13])
    ok(st == 200 and v["document"]["id"] == d850["id"],
       "  a unique prefix", st)
    st, h, body = c.get("/v1/documents/%s/raw" % d850["id"], RO)
    ok(st == 200 and body.decode() == ids["raw850"] and
       h.get("content-type") == "application/octet-stream" and
       'filename="po2001.edi"' in h.get("content-disposition", ""),
       "  /raw: the bytes as received", (st, h))
    bad = [d for d in all_docs if d["state"] == "rejected"][0]
    st, v = c.json("/v1/documents/" + bad["id"])
    ok(st == 200 and isinstance(v.get("diagnostics"), list) and
       v["diagnostics"][0].get("segment") == "SE",
       "  a rejected document's diagnostics", v.get("diagnostics"))
    st, v = c.json("/v1/documents/00000000-0000-7000-8000-000000000000")
    ok(st == 404, "  unknown id: 404", v)

    # events
    st, v = c.json("/v1/events?limit=100")
    types = sorted(e["type"] for e in v.get("events", []))
    ok(st == 200 and types.count("order.created") == 2 and
       "order.acknowledged" in types, "/v1/events", types)
    st, v1 = c.json("/v1/events?doc=" + d850["id"])
    ok(len(v1["events"]) == 1, "  ?doc=", v1)
    st, v2 = c.json("/v1/events?biz=order:acme-retail:PO-2001")
    ok(len(v2["events"]) == 2, "  ?biz=", v2)
    ev = v1["events"][0]["id"]
    st, v = c.json("/v1/events/" + ev)
    ok(st == 200 and v["event"]["subject"] == "PO-2001",
       "/v1/events/ID: the CloudEvent", v)

    # jobs, dead letters, acknowledgements, chain
    st, v = c.json("/v1/jobs?kind=forward")
    ok(st == 200 and {j["state"] for j in v["jobs"]} == {"done", "dead"},
       "/v1/jobs?kind=forward", v)
    st, v = c.json("/v1/jobs?state=sleeping")
    ok(st == 400, "  ?state=sleeping: 400")
    st, v = c.json("/v1/dlq")
    dl = v.get("dead_letters", [])
    ok(st == 200 and [j["id"] for j in dl] == [ids["dead"]] and
       dl[0]["subject"] == "PO-4001" and "400" in dl[0]["error"],
       "/v1/dlq: the refused order, why", v)
    st, v = c.json("/v1/acks?state=pending")
    ok(st == 200 and any(a["kind"] == "ship_notice" and a["ref"] == "PO-2001"
                         for a in v["acks"]) and
       all(a["state"] == "pending" and not a["overdue"] for a in v["acks"]),
       "/v1/acks?state=pending: the awaited ship notice", v)
    st, v = c.json("/v1/acks?state=overdue")
    ok(st == 200 and v["acks"] == [], "  ?state=overdue: none", v)
    st, v = c.json("/v1/acks?state=negative")
    ok(st == 200 and [(a["kind"], a["bizkey"]) for a in v["acks"]] ==
       [("erp", "order:acme-retail:PO-4001")] and
       "400" in v["acks"][0]["reason"],
       "  ?state=negative: the ERP refused PO-4001, with the reason", v)
    st, v = c.json("/v1/acks?kind=po_ack&partner=acme-retail")
    ok(st == 200 and {a["ref"] for a in v["acks"]} >= {"PO-2001"},
       "  ?kind=&partner=", v)
    st, v = c.json("/v1/acks?kind=fax")
    ok(st == 400, "  ?kind=fax: 400")
    st, v = c.json("/v1/chain?po=PO-2001")
    steps = [s["step"] for s in v.get("steps", [])]
    text = " | ".join(s["text"] for s in v.get("steps", []))
    ok(st == 200 and "received" in steps and "sent" in steps and
       "event" in steps and "ack" in steps and "855" in text and
       "997" in text and "ERP import" in text,
       "/v1/chain: 850 received, 997 sent, events, ERP ack, 855", text)
    ok("850 received" in text and "997 sent" in text and
       "855 received" in text, "  in words", text)
    st, v = c.json("/v1/chain")
    ok(st == 400, "  without po: 400")

    # actions: authorisation
    path = "/v1/dlq/%s/retry" % ids["dead"]
    st, h, body = c.post(path)
    ok(st == 401, "retry without a token: 401")
    st, h, body = c.post(path, RO)
    ok(st == 403 and b"operator" in body, "retry with a read token: 403",
       body)
    st, h, body = c.post(path, ERP)
    ok(st == 403, "retry with an erp token: 403")
    st, h, body = c.get(path, OP)
    ok(st == 405 and h.get("allow") == "POST", "retry by GET: 405")
    ok(gw.json("dlq") != [], "  nothing changed")
    st, h, body = c.post(path, OP)
    v = json.loads(body)
    ok(st == 200 and v["ok"] and "dead -> pending" in v["done"][0],
       "retry with an operator token: 200", body)
    ok(wait_for(lambda: "console: replay by=alice id=%s result=ok"
                % ids["dead"] in gw.log()),
       "  logged with the token's name", gw.log()[-2000:])
    ok(wait_for(lambda: any((r["event"] or {}).get("subject") == "PO-4001"
                            for r in rc.delivered())),
       "  the event reaches the ERP")
    ok(wait_for(lambda: gw.json("dlq") == []), "  the dlq is empty")
    st, h, body = c.post(path, OP)
    ok(st == 409, "retry it again: 409 (not dead)", body)
    st, h, body = c.post("/v1/hold/" + d850["id"], OP)
    ok(st == 409 and b"no pending job" in body,
       "hold a document without pending jobs: 409", body)
    st, h, body = c.post("/v1/release/" + d850["id"], RO)
    ok(st == 403, "release with a read token: 403")
    st, h, body = c.post("/v1/replay/" + bad["id"], OP)
    ok(st == 200 and b"queued translate job" in body,
       "replay a rejected document: a translate job", body)
    ok(wait_for(lambda: "console: replay by=alice id=%s result=ok"
                % bad["id"] in gw.log()), "  logged")
    st, h, body = c.post("/v1/replay/ffffffff", OP)
    ok(st == 404, "replay an unknown id: 404", body)
    st, h, body = c.post("/v1/replay/xyz", OP)
    ok(st == 400, "replay a non-id: 400", body)
    ok(wait_for(lambda: "console: replay by=alice id=xyz result=refused" in
                gw.log()), "  refusals are logged too")

    # the ERP's acknowledgement callback
    st, h, body = c.post("/v1/events/%s/ack" % ev, body={"status":
                                                          "accepted"})
    ok(st == 401, "ERP ack without a token: 401 (tokens configured)")
    st, h, body = c.post("/v1/events/%s/ack" % ev, RO,
                         body={"status": "accepted"})
    ok(st == 403, "ERP ack with a read token: 403")
    st, h, body = c.post("/v1/events/%s/ack" % ev, ERP,
                         body={"status": "accepted", "reference": "SO9"})
    ok(st == 200 and json.loads(body) == {"resolved": False},
       "ERP ack with an erp token: 200 (already resolved by the 2xx)", body)
    st, h, body = c.post("/v1/events/%s/ack" % ev, OP,
                         body={"status": "maybe"})
    ok(st == 400, "ERP ack by an operator, bad status: 400", body)
    st, h, body = c.post("/v1/events/%s/ack" % ev, ERP,
                         body="x" * (1024 * 1024 + 10))
    ok(st == 413, "body over the limit: 413", st)
    st, h, body = c.get("/v1/nothing", RO)
    ok(st == 404, "unknown path: 404")
    return all_docs


# --- the dashboard ---------------------------------------------------------

def page_tests(gw, c, ids):
    st, h, body = c.get("/")
    ok(st == 303 and h.get("location") == "/login",
       "dashboard without a token: to /login", (st, h))
    st, h, body = c.get("/login")
    ok(st == 200 and b'name="token"' in body, "/login: the form")
    st, h, body = c.post("/login", body="token=" + RO, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    ok(st == 303 and "edigate_token=" + RO in h.get("set-cookie", "") and
       "HttpOnly" in h["set-cookie"] and "SameSite=Strict" in h["set-cookie"],
       "/login sets an HttpOnly SameSite cookie", h)
    st, h, body = c.get("/", cookie="bogus")
    ok(st == 303, "a bad cookie: to /login")
    st, h, body = c.get("/", cookie=RO)
    html = body.decode()
    ok(st == 200 and 'id="partners"' in html and "acme-retail" in html,
       "dashboard (read): the partner table", html[:300])
    ok("&lt;b&gt;Acme &amp; Sons&lt;/b&gt;" in html and
       "<b>Acme &" not in html, "  the partner's name is escaped")
    ok("default-src 'none'" in h.get("content-security-policy", ""),
       "  a strict Content-Security-Policy (no script)")
    ok('id="rejections"' in html and "bad3001.edi" in html and
       "in segment SE" in html, "  recent rejections in words")
    st, h, body = c.get("/search?po=PO-2001", cookie=RO)
    html = body.decode()
    ok(st == 200 and 'id="chain"' in html and "855" in html and
       "997" in html, "/search?po=: the chain")
    st, h, body = c.get("/search?po=%3Cscript%3E", cookie=RO)
    ok(st == 200 and b"<script>" not in body and b"&lt;script&gt;" in body,
       "  the query is escaped", body[:400])
    st, h, body = c.get("/doc/" + ids["doc"], cookie=RO)
    ok(st == 200 and b'id="raw"' in body and b'id="events"' in body,
       "/doc/ID: the document page")
    st, h, body = c.get("/doc/nothing", cookie=RO)
    ok(st == 404, "/doc/unknown: 404")
    st, h, body = c.post("/retry", body="id=x&csrf=y", cookie=RO, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    ok(st == 403, "/retry with a read cookie: 403")
    st, h, body = c.post("/retry", body="id=x&csrf=y", cookie=OP, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    ok(st == 403 and b"stale" in body, "/retry with a wrong csrf: 403")
    st, h, body = c.post("/logout", cookie=RO)
    ok(st == 303 and "Max-Age=0" in h.get("set-cookie", ""),
       "/logout clears the cookie")


# --- /metrics --------------------------------------------------------------

def metrics_tests(gw, c, all_docs):
    st, h, body = c.get("/metrics")
    ok(st == 200 and h.get("content-type", "").startswith(
        "text/plain; version=0.0.4"), "/metrics: 200, text format 0.0.4",
        h)
    try:
        fams = parse_prom(body.decode())
        ok(True, "/metrics parses (strict)")
    except PromError as e:
        ok(False, "/metrics parses (strict)", "%s\n%s" % (e, body.decode()))
        return
    want = ["edigate_documents", "edigate_events_forwarded_total",
            "edigate_events_forward_failed_total", "edigate_jobs",
            "edigate_job_queue_depth",
            "edigate_job_oldest_pending_age_seconds", "edigate_acks",
            "edigate_channel_poll_errors_total", "edigate_as2_messages_total",
            "edigate_as2_mdn_total", "edigate_translate_duration_seconds"]
    missing = [w for w in want if w not in fams or not fams[w]["help"] or
               not fams[w]["type"]]
    ok(not missing, "every family with HELP and TYPE", missing)
    # documents by partner/type/state == the API's documents
    st, v = c.json("/v1/documents?limit=1000")
    agg = {}
    for d in v["documents"]:
        k = (d["partner"], d["doctype"], d["state"])
        agg[k] = agg.get(k, 0) + 1
    got = dict(((lb["partner"], lb["type"], lb["state"]), val) for _, lb, val
               in fams["edigate_documents"]["samples"])
    ok(got == agg, "documents by partner/type/state match the API",
       (got, agg))
    ok(series(fams, "edigate_events_forwarded_total") == 4,
       "events forwarded: 4 (850, 855, the malformed file's "
       "document.rejected, the retried 850)",
       series(fams, "edigate_events_forwarded_total"))
    ok(series(fams, "edigate_events_forward_failed_total") == 1,
       "events failed: 1 (the dead letter)")
    ok(series(fams, "edigate_acks", kind="ship_notice",
              partner="acme-retail", state="pending") >= 1 and
       series(fams, "edigate_acks", kind="po_ack", partner="acme-retail",
              state="overdue") == 0,
       "acknowledgements pending/overdue by kind and partner")
    ok(series(fams, "edigate_job_queue_depth", kind="forward") == 0,
       "job queue depth: 0 when idle")
    n_in = len([d for d in v["documents"] if d["direction"] == "inbound"])
    cnt = series(fams, "edigate_translate_duration_seconds_count")
    ok(cnt == n_in + 1, "translate latency: one observation per "
       "translation (%d documents, one replayed)" % n_in, cnt)
    ok(series(fams, "edigate_as2_messages_total", direction="in") == 0,
       "AS2 families present, zero without AS2 traffic")
    # escaping: a label value with a quote, a backslash and a newline
    try:
        parse_prom('# TYPE x gauge\nx{a="q\\"b\\\\c\\nd"} 1\n')
        ok(parse_prom('# TYPE x gauge\nx{a="q\\"b\\\\c\\nd"} 1\n')["x"]
           ["samples"][0][1]["a"] == 'q"b\\c\nd', "parser: escapes")
    except PromError as e:
        ok(False, "parser: escapes", e)
    for bad in ('# TYPE x gauge\nx 1\n# TYPE x gauge\n',
                '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx 2\n',
                'x{a="\\t"} 1\n', "x 1", '# TYPE x counter\nx 1\n'):
        try:
            parse_prom(bad)
            ok(False, "parser refuses %r" % bad)
        except PromError:
            ok(True, "parser refuses %r" % bad)


def main():
    tmp = tempfile.mkdtemp(prefix="edigate-console-")
    gw = rc = None
    try:
        try:
            gw, rc, c, ids = start(tmp)
        except Exception as e:
            ok(False, "daemon and traffic", e)
            print("1..%d" % scenario.n)
            return 1
        if "--browser" in sys.argv:
            return browser(gw, c, ids)
        all_docs = api_tests(gw, rc, c, ids)
        ids["doc"] = all_docs[0]["id"]
        page_tests(gw, c, ids)
        # the replayed document translated again: its second "pipeline:
        # rejected" line is logged once the outcome is committed, after
        # the translation was counted
        wait_for(lambda: gw.log().count("pipeline: rejected") >= 2)
        time.sleep(0.5)
        metrics_tests(gw, c, all_docs)
    finally:
        if gw is not None:
            stop(gw, rc)
    return scenario.plan()


def browser(gw, c, ids):
    shots = os.path.join(BUILD, "tests", "screenshots")
    os.makedirs(shots, exist_ok=True)
    env = dict(os.environ)
    env.update({"CONSOLE_URL": "http://127.0.0.1:%d" % c.port,
                "CONSOLE_TOKEN": OP, "CONSOLE_PO": "PO-2001",
                "CONSOLE_DEAD": ids["dead"], "SCREENSHOTS": shots})
    p = subprocess.run(["node", os.path.join(TOP, "tests", "browser.js")],
                       env=env, timeout=300)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
