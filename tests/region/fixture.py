#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-in MAAS region for the region-sync tests (tests/unit/dhcpd/test_region.c).

Serves the REST API 2.0 documents rackdhcpd pulls, shaped like MAAS 3.x
(maas-integration.md §3), from tests/region/data/*.json, and checks every
request's OAuth 1.0 PLAINTEXT header the way MAAS does (§4): required
parameters, key and token, signature '&' + secret, a nonce never seen before,
a timestamp within 300 s.  A bad or missing header gets MAAS's 401.

Standard library only.  Listens on 127.0.0.1 on the port given (0: any free
one) and prints "PORT <n>" on stdout once it accepts connections.  With
--tls-cert and --tls-key it speaks HTTPS only (a region behind TLS).  It exits
by itself when its parent goes away or after --lifetime seconds, so a test
that dies cannot leave it behind.

Control endpoints (no OAuth, under /_control/), for changing data between
polls and failing on demand:
  POST /_control/doc/<name>    body = the new raw bytes of a document (any bytes)
  DELETE /_control/doc/<name>  the document disappears (its endpoint answers 404)
  POST /_control/load          {"name": "fabrics", "file": "variant-fabrics-vlan-added.json"}
  POST /_control/fail          {"mode": M, "count": N (default: forever), "match": "substring of the path",
                                "delay": seconds (slow), "size": bytes (big), "status": code (500)}
         M: "500" (status, default 500), "slow" (answer after delay), "garbage" (200, not JSON),
            "truncate" (Content-Length larger than the body, then close), "big" (a valid JSON body
            of size bytes), "redirect_away" (302 to another host), "redirect_same" (301 to the same
            path on this server, then served normally), "none" (clear)
  POST /_control/reset         reload data/, clear failures and counters
  GET  /_control/stats         {"requests", "auth_ok", "auth_failed", "last_auth", "paths", "nonces"}

Document names: the data file name without .json; rackcontrollers_<id>,
fabrics, subnets, ipranges, ipaddresses, reservedips, domains, dhcp-snippets,
regioncontrollers, version, and config (a mapping served through
maas/?op=get_config&name=<key>).
"""

import argparse
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/MAAS/api/2.0/"
COLLECTIONS = {"fabrics/", "subnets/", "ipranges/", "reservedips/", "domains/", "dhcp-snippets/",
               "regioncontrollers/", "version/"}
REQUIRED = ("oauth_consumer_key", "oauth_token", "oauth_signature", "oauth_signature_method",
            "oauth_timestamp", "oauth_nonce")


class State:
    def __init__(self, data_dir, key):
        self.data_dir = data_dir
        self.consumer, self.token, self.secret = key.split(":")
        self.lock = threading.Lock()
        self.nonces = set()
        self.reset()

    def reset(self):
        docs = {}
        for name in os.listdir(self.data_dir):
            if name.endswith(".json") and not name.startswith("variant-"):
                with open(os.path.join(self.data_dir, name), "rb") as f:
                    docs[name[:-5]] = f.read()
        with self.lock:
            self.docs = docs
            self.fail = None
            self.stats = {"requests": 0, "auth_ok": 0, "auth_failed": 0, "last_auth": None, "paths": []}

    def take_failure(self, path):
        """The failure to apply to this request, if any (counted down)."""
        with self.lock:
            f = self.fail
            if not f or f.get("match", "") not in path:
                return None
            if f.get("count") is not None:
                f["count"] -= 1
                if f["count"] <= 0:
                    self.fail = None
            return dict(f)


def check_oauth(state, header):
    """MAAS's checks (piston3 oauth): None if fine, else the reason."""
    if not header or not header.startswith("OAuth "):
        return "no OAuth Authorization header"
    params = {}
    for part in header[6:].split(","):
        part = part.strip()
        if not part or "=" not in part:
            continue
        k, v = part.split("=", 1)
        params[k.strip()] = urllib.parse.unquote(v.strip().strip('"'))
    missing = [p for p in REQUIRED if p not in params]
    if missing:
        return "missing " + ", ".join(missing)
    if params.get("oauth_version", "1.0") != "1.0":
        return "bad oauth_version"
    if params["oauth_signature_method"] != "PLAINTEXT":
        return "signature method is not PLAINTEXT"
    if params["oauth_consumer_key"] != state.consumer or params["oauth_token"] != state.token:
        return "unknown consumer or token"
    if params["oauth_signature"] != "&" + urllib.parse.quote(state.secret, safe="~"):
        return "bad signature"
    try:
        ts = int(params["oauth_timestamp"])
    except ValueError:
        return "bad timestamp"
    if abs(ts - time.time()) > 300:
        return "expired timestamp"
    with state.lock:
        key = (params["oauth_consumer_key"], params["oauth_token"], params["oauth_nonce"])
        if key in state.nonces:
            return "nonce already used"
        state.nonces.add(key)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-maas/3.5"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fixture: " + (fmt % args) + "\n")

    def send(self, code, body, ctype="application/json", extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ------------------------------------------------------------ control
    def control(self, method):
        st = self.server.state
        path = urllib.parse.urlsplit(self.path).path[len("/_control/"):]
        if method == "GET" and path == "stats":
            with st.lock:
                out = dict(st.stats, nonces=len(st.nonces))
            return self.send(200, json.dumps(out))
        if method == "POST" and path == "reset":
            self.body()
            st.reset()
            return self.send(200, "{}")
        if method == "POST" and path == "fail":
            f = json.loads(self.body() or b"{}")
            with st.lock:
                st.fail = None if f.get("mode", "none") == "none" else f
            return self.send(200, "{}")
        if method == "POST" and path == "load":
            req = json.loads(self.body())
            fname = os.path.basename(req["file"])
            with open(os.path.join(st.data_dir, fname), "rb") as fh:
                data = fh.read()
            with st.lock:
                st.docs[req["name"]] = data
            return self.send(200, "{}")
        if path.startswith("doc/"):
            name = path[4:]
            if method == "POST":
                data = self.body()
                with st.lock:
                    st.docs[name] = data
                return self.send(200, "{}")
            if method == "DELETE":
                with st.lock:
                    st.docs.pop(name, None)
                return self.send(200, "{}")
        return self.send(404, '{"error": "unknown control request"}')

    # ---------------------------------------------------------------- API
    def document(self, rel, query):
        """(status, body) for an API path relative to /MAAS/api/2.0/."""
        st = self.server.state
        with st.lock:
            docs = dict(st.docs)
        if rel.startswith("rackcontrollers/") and rel.count("/") == 2 and rel.endswith("/"):
            name = "rackcontrollers_" + rel.split("/")[1]
        elif rel == "ipaddresses/":
            # without all=true MAAS lists only the caller's own reservations
            if query.get("all", [""])[0] != "true":
                return 200, b"[]"
            name = "ipaddresses"
        elif rel == "maas/" and query.get("op", [""])[0] == "get_config":
            cfg = json.loads(docs.get("config", b"{}"))
            key = query.get("name", [""])[0]
            if key == "ntp_server":
                key = "ntp_servers"
            if key not in cfg:
                return 400, b"Invalid config name"
            return 200, json.dumps(cfg[key]).encode()
        elif rel in COLLECTIONS:
            name = rel[:-1]
        else:
            return 404, b"Not Found"
        if name not in docs:
            return 404, b"Not Found"
        return 200, docs[name]

    def do_GET(self):
        if self.path.startswith("/_control/"):
            return self.control("GET")
        st = self.server.state
        split = urllib.parse.urlsplit(self.path)
        with st.lock:
            st.stats["requests"] += 1
            st.stats["paths"].append(self.path)
        auth = self.headers.get("Authorization")
        why = check_oauth(st, auth)
        with st.lock:
            st.stats["last_auth"] = auth
            st.stats["auth_failed" if why else "auth_ok"] += 1
        if why:
            self.log_message("401: %s", why)
            return self.send(401, "Authorization Error: Invalid API key.", "text/plain")
        if not split.path.startswith(API):
            return self.send(404, "Not Found", "text/plain")
        rel = split.path[len(API):]
        # Django's APPEND_SLASH: same origin, so the client may follow it
        if rel and not rel.endswith("/"):
            loc = split.path + "/" + ("?" + split.query if split.query else "")
            return self.send(301, b"", "text/html", {"Location": loc})

        f = st.take_failure(self.path)
        mode = f and f.get("mode")
        if mode == "500":
            return self.send(int(f.get("status", 500)), "Internal Server Error", "text/plain")
        if mode == "slow":
            time.sleep(float(f.get("delay", 5)))
        if mode == "garbage":
            return self.send(200, b'{"this is": not json at all \x00\xff')
        if mode == "redirect_away":
            return self.send(302, b"", "text/html", {"Location": "http://192.0.2.99:5240" + self.path})
        if mode == "redirect_same":
            return self.send(301, b"", "text/html", {"Location": self.path})
        if mode == "big":
            size = int(f.get("size", 1 << 20))
            body = b"[" + b"0," * (size // 2) + b"0]"
            return self.send(200, body)
        code, body = self.document(rel, urllib.parse.parse_qs(split.query))
        if mode == "truncate" and code == 200:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send(code, body, "application/json" if code == 200 else "text/plain")

    def do_POST(self):
        if self.path.startswith("/_control/"):
            return self.control("POST")
        self.send(405, "Method Not Allowed", "text/plain")

    def do_DELETE(self):
        if self.path.startswith("/_control/"):
            return self.control("DELETE")
        self.send(405, "Method Not Allowed", "text/plain")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # a client that timed out and hung up is expected here
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder of the JSON documents")
    ap.add_argument("--key", required=True, help="consumer:token:secret accepted")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=300, help="exit after this many seconds")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--tls-cert", help="PEM certificate: serve HTTPS with it")
    ap.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = ap.parse_args()

    srv = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(args.data, args.key)
    srv.verbose = args.verbose
    parent = os.getppid()

    def watchdog():
        end = time.monotonic() + args.lifetime
        while time.monotonic() < end and os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
