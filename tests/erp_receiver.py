#!/usr/bin/env python3
"""erp_receiver.py: a real HTTP/1.1 server standing in for the ERP import API
in edigate's tests (STYLE.md, scenario tier).  Python 3 standard library only.

Usage:
    erp_receiver.py --log FILE [--port-file FILE] [--port N] [--mode MODE]
                    [--status N] [--reference REF] [--retry-after V]
                    [--delay-ms N]

It binds 127.0.0.1 (port 0, a free one, unless --port), prints the port as
one line on stdout (and writes it to --port-file, written to a temporary
name and renamed, so a reader never sees a partial file), then serves until
SIGTERM or SIGINT (exit status 0).  Connections are kept alive (HTTP/1.1,
Content-Length on every answer).

Every request except the control endpoint is appended to --log as one JSON
line, flushed before the answer is sent:
    {"seq": 1, "time": 1700000000.123, "method": "POST", "path": "/import",
     "headers": [["Content-Type", "application/cloudevents+json"], ...],
     "body": "...", "status": 201, "mode": "ok", "peer": 54321}
("body" is the body decoded as UTF-8 with errors replaced; "status" is
what was answered, null when the connection was dropped; "peer" is the
client's port, so tests can tell reused connections apart.)

Modes (what a request is answered with):
    ok        STATUS (default 201) with {"id": REF} (REF default "SO{n}",
              "{n}" replaced by the request's seq; "" gives an empty body)
    fail500   500 {"error":"internal"}
    fail503   503 with Retry-After when set
    fail400   400 {"error":"bad request","detail":"sku unknown"}
    fail429   429 with Retry-After: V (default 1)
    drop      read the request, close the connection without answering
    status    answer STATUS with an empty JSON object (any code)

Control endpoint (not logged):
    POST /_ctl  JSON object; every key optional:
        {"mode": "ok", "status": 201, "reference": "SO123",
         "retry_after": 5,          # number or HTTP-date text; null: none
         "delay_ms": 0,             # sleep before answering (timeouts)
         "sequence": ["fail500", "ok"],
                                    # modes for the next requests, one each,
                                    # then back to "mode"
         "reset": true}             # forget the log count (file kept)
        answers 200 with the resulting state
    GET /_ctl   the state: {"mode": ..., "requests": N, ...}
    GET /_requests  every logged request so far, as a JSON array

Example (shell):
    python3 tests/erp_receiver.py --log erp.jsonl --port-file erp.port \
        >/dev/null & pid=$!
    while [ ! -s erp.port ]; do sleep 0.1; done; port=$(cat erp.port)
    curl -s -XPOST -d '{"mode":"fail429","retry_after":2}' \
        http://127.0.0.1:$port/_ctl
    kill $pid
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "fail500", "fail503", "fail400", "fail429", "drop", "status")
MAX_BODY = 64 * 1024 * 1024


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.mode = args.mode
        self.status = args.status
        self.reference = args.reference
        self.retry_after = args.retry_after
        self.delay_ms = args.delay_ms
        self.sequence = []
        self.seq = 0
        self.requests = []
        self.log = open(args.log, "a", encoding="utf-8")

    def snapshot(self):
        return {"mode": self.mode, "status": self.status,
                "reference": self.reference,
                "retry_after": self.retry_after,
                "delay_ms": self.delay_ms, "sequence": list(self.sequence),
                "requests": self.seq}

    def control(self, d):
        if not isinstance(d, dict):
            raise ValueError("control body must be a JSON object")
        if "mode" in d and d["mode"] not in MODES:
            raise ValueError("unknown mode %r" % (d["mode"],))
        for m in d.get("sequence", []):
            if m not in MODES:
                raise ValueError("unknown mode %r in sequence" % (m,))
        if "mode" in d:
            self.mode = d["mode"]
        if "status" in d:
            self.status = int(d["status"])
        if "reference" in d:
            self.reference = d["reference"]
        if "retry_after" in d:
            ra = d["retry_after"]
            self.retry_after = None if ra is None else str(ra)
        if "delay_ms" in d:
            self.delay_ms = int(d["delay_ms"])
        if "sequence" in d:
            self.sequence = list(d["sequence"])
        if d.get("reset"):
            self.seq = 0
            self.requests = []

    def next(self):
        """The seq number and the mode of a new request."""
        self.seq += 1
        mode = self.sequence.pop(0) if self.sequence else self.mode
        return self.seq, mode

    def record(self, rec):
        line = json.dumps(rec, sort_keys=True)
        self.requests.append(rec)
        self.log.write(line + "\n")
        self.log.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "erp-receiver/1"

    def log_message(self, fmt, *args):  # quiet: the JSON log says it all
        pass

    def read_body(self):
        n = self.headers.get("Content-Length")
        if n is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return self.read_chunked()
            return b""
        n = int(n)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n)

    def read_chunked(self):
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += self.rfile.read(size)
            self.rfile.readline()
            if len(out) > MAX_BODY:
                raise ValueError("body too large")

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def control(self):
        st = self.server.state
        if self.path == "/_requests" and self.command == "GET":
            with st.lock:
                body = json.dumps(st.requests).encode()
            return self.answer(200, body)
        if self.command == "POST":
            try:
                d = json.loads(self.read_body() or b"{}")
                with st.lock:
                    st.control(d)
            except (ValueError, TypeError) as e:
                return self.answer(400, json.dumps({"error": str(e)})
                                   .encode())
        with st.lock:
            body = json.dumps(st.snapshot()).encode()
        return self.answer(200, body)

    def handle_any(self):
        if self.path in ("/_ctl", "/_requests"):
            return self.control()
        st = self.server.state
        body = self.read_body()
        with st.lock:
            seq, mode = st.next()
            status, ref = st.status, st.reference
            retry_after, delay = st.retry_after, st.delay_ms
        rec = {"seq": seq, "time": time.time(), "method": self.command,
               "path": self.path, "headers": list(self.headers.items()),
               "body": body.decode("utf-8", "replace"), "mode": mode,
               "peer": self.client_address[1]}
        headers = []
        if mode == "ok":
            ref = ref.replace("{n}", str(seq)) if ref is not None else None
            out = json.dumps({"id": ref}).encode() if ref else b""
        elif mode == "fail500":
            status, out = 500, b'{"error":"internal"}'
        elif mode == "fail503":
            status, out = 503, b'{"error":"unavailable"}'
            if retry_after is not None:
                headers.append(("Retry-After", retry_after))
        elif mode == "fail400":
            status = 400
            out = b'{"error":"bad request","detail":"sku unknown"}'
        elif mode == "fail429":
            status, out = 429, b'{"error":"slow down"}'
            headers.append(("Retry-After",
                            retry_after if retry_after is not None else "1"))
        elif mode == "status":
            out = b"{}"
        else:  # drop
            status, out = None, b""
        rec["status"] = status
        with st.lock:
            st.record(rec)
        if delay:
            time.sleep(delay / 1000.0)
        if mode == "drop":
            self.close_connection = True
            return
        self.answer(status, out, headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True, help="JSON lines of requests")
    ap.add_argument("--port-file", help="write the port here")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok", choices=MODES)
    ap.add_argument("--status", type=int, default=201)
    ap.add_argument("--reference", default="SO{n}")
    ap.add_argument("--retry-after", default=None)
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    port = srv.server_address[1]

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        srv.server_close()
        srv.state.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
