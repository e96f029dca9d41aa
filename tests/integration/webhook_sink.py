#!/usr/bin/python3
"""A local HTTP server that records every POST, for the webhook and
Alertmanager tests. Each request is written to DIR/req-<n>.json as
{"path", "headers", "body"}; DIR/ready holds the port once listening.

Scripted answers, to test retries: --fail N answers the first N requests
with --fail-status (default 503) and Retry-After: --retry-after (when
given); --status PREFIX=CODE answers every request whose path starts with
PREFIX with CODE (a permanent error, say). Everything else gets 200 with
{"ok":true} (what Telegram, Slack and Discord return, near enough).
Loopback only; stops on SIGTERM or after --exit-after seconds."""
import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--fail", type=int, default=0)
ap.add_argument("--fail-status", type=int, default=503)
ap.add_argument("--retry-after", type=int)
ap.add_argument("--status", action="append", default=[])
ap.add_argument("--exit-after", type=int, default=300)
args = ap.parse_args()

lock = threading.Lock()
count = 0
statuses = [(s.split("=", 1)[0], int(s.split("=", 1)[1])) for s in args.status]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global count
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with lock:
            count += 1
            seq = count
        status = 200
        for prefix, code in statuses:
            if self.path.startswith(prefix):
                status = code
        if seq <= args.fail:
            status = args.fail_status
        rec = {"seq": seq, "path": self.path, "status": status,
               "headers": {k: v for k, v in self.headers.items()},
               "body": body}
        tmp = os.path.join(args.dir, ".req-%d.tmp" % seq)
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(args.dir, "req-%d.json" % seq))
        out = b'{"ok":true}' if status == 200 else b'{"ok":false,"error":"scripted"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        if status != 200 and args.retry_after is not None:
            self.send_header("Retry-After", str(args.retry_after))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, fmt, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
threading.Timer(args.exit_after, lambda: os._exit(0)).start()
with open(os.path.join(args.dir, "ready.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(args.dir, "ready.tmp"), os.path.join(args.dir, "ready"))
try:
    srv.serve_forever()
except SystemExit:
    pass
os._exit(0)
