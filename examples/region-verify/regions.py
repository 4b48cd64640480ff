#!/usr/bin/env python3
"""Three fake regional services on 127.0.0.1 for the region-verify demo.

us-east and ap-south are healthy; eu-west answers 503. Writes `NAME URL` lines to the file named
by the first argument once every server listens, then serves until killed.
"""
import os
import http.server
import json
import sys
import threading

REGIONS = {"us-east": 200, "eu-west": 503, "ap-south": 200}


def handler_for(region, status):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"status": "UP" if status == 200 else "DOWN", "region": region}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("x-region", region)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


lines = []
for region, status in REGIONS.items():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(region, status))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lines.append(f"{region} http://127.0.0.1:{server.server_address[1]}/healthz\n")
target = sys.argv[1]
with open(target + ".tmp", "w") as f:
    f.writelines(lines)
os.replace(target + ".tmp", target)
threading.Event().wait()
