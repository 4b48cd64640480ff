#!/usr/bin/env python3
"""The seed's regions on 127.0.0.1, for run-under-act.sh and the e2e tests.

Each region (us-east, eu-west, ap-south) answers `GET /healthz` on its own port with
`{"status": "UP", "region": ...}` and an `x-region` header, or 503 `DOWN` while it is down. The
global endpoint, on another port, answers like a failover DNS name or global load balancer: from
the first healthy region in that order (503 when none is). The control API, on a third kind of
port, takes a region down or up: `POST /down/REGION`, `POST /up/REGION`; `GET /state` says which
regions are down and how many health checks each endpoint (and `global`) answered.

    regions.py --ready-file FILE

writes `{"health_urls": {region: url}, "global_url": url, "control_url": url}` to FILE once
every server listens, then serves until killed.
"""

import argparse
import http.server
import json
import os
import threading

REGIONS = ["us-east", "eu-west", "ap-south"]
down = set()
hits = {name: 0 for name in REGIONS + ["global"]}
lock = threading.Lock()


def answer(handler, status, body, region=None):
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    if region:
        handler.send_header("x-region", region)
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def health(region, counted=True):
    with lock:
        up = region not in down
        if counted:
            hits[region] += 1
    return (200, {"status": "UP", "region": region}) if up else (503, {"status": "DOWN", "region": region})


class Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


def regional(region):
    class Handler(Quiet):
        def do_GET(self):
            if self.path.split("?")[0] != "/healthz":
                return answer(self, 404, {"message": "Not Found"})
            status, body = health(region)
            answer(self, status, body, region)

    return Handler


class Global(Quiet):
    def do_GET(self):
        if self.path.split("?")[0] != "/healthz":
            return answer(self, 404, {"message": "Not Found"})
        with lock:
            hits["global"] += 1
        for region in REGIONS:
            status, body = health(region, counted=False)
            if status == 200:
                return answer(self, status, body, region)
        answer(self, 503, {"status": "DOWN", "region": None})


class Control(Quiet):
    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] not in ("down", "up") or parts[1] not in REGIONS:
            return answer(self, 404, {"message": "POST /down/REGION or /up/REGION"})
        with lock:
            (down.add if parts[0] == "down" else down.discard)(parts[1])
        self.do_GET()

    def do_GET(self):
        with lock:
            answer(self, 200, {"down": sorted(down), "hits": dict(hits)})


def serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    ready = {
        "health_urls": {r: serve(regional(r)) + "/healthz" for r in REGIONS},
        "global_url": serve(Global) + "/healthz",
        "control_url": serve(Control),
    }
    with open(args.ready_file + ".tmp", "w") as f:
        json.dump(ready, f)
    os.replace(args.ready_file + ".tmp", args.ready_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
