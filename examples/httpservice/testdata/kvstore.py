#!/usr/bin/python3
"""kvstore is a tiny key-value store over HTTP, the service under test.

    GET    /healthz        200 "ok"
    GET    /v1/keys        200, the keys as a JSON list, sorted
    GET    /v1/keys/KEY    200 and the value, or 404
    PUT    /v1/keys/KEY    204; the body (at most 1 KiB) is the value
    DELETE /v1/keys/KEY    204, or 404

Keys are 1 to 64 of a-z, 0-9 and "-". Values are kept in
$STATE_DIRECTORY/data.json, rewritten atomically on every change, so they
survive restarts. It listens on $KVSTORE_PORT (default 8080).
"""
import http.server
import json
import os
import re
import threading

PORT = int(os.environ.get("KVSTORE_PORT", "8080"))
DATA = os.path.join(os.environ.get("STATE_DIRECTORY", "/var/lib/kvstore"), "data.json")
KEY = re.compile(r"^/v1/keys/([a-z0-9-]{1,64})$")
MAX_VALUE = 1024

lock = threading.Lock()
try:
    with open(DATA) as f:
        store = json.load(f)
except FileNotFoundError:
    store = {}


def save():
    tmp = DATA + ".tmp"
    with open(tmp, "w") as f:
        json.dump(store, f, sort_keys=True)
    os.replace(tmp, DATA)


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        if body:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def key(self):
        m = KEY.match(self.path)
        if not m:
            self.reply(404 if not self.path.startswith("/v1/keys/") else 400, b"bad key\n")
            return None
        return m.group(1)

    def do_GET(self):
        if self.path == "/healthz":
            return self.reply(200, b"ok\n")
        if self.path == "/v1/keys":
            with lock:
                keys = sorted(store)
            return self.reply(200, json.dumps(keys).encode(), "application/json")
        k = self.key()
        if k is None:
            return
        with lock:
            v = store.get(k)
        if v is None:
            return self.reply(404, b"no such key\n")
        self.reply(200, v.encode())

    def do_PUT(self):
        k = self.key()
        if k is None:
            return
        n = int(self.headers.get("Content-Length", "0"))
        if n > MAX_VALUE:
            return self.reply(413, b"value too large\n")
        v = self.rfile.read(n).decode()
        with lock:
            store[k] = v
            save()
        self.reply(204)

    def do_DELETE(self):
        k = self.key()
        if k is None:
            return
        with lock:
            if k not in store:
                return self.reply(404, b"no such key\n")
            del store[k]
            save()
        self.reply(204)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("", PORT), Handler).serve_forever()
