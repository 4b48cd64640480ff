#!/usr/bin/env python3
"""Three fake regional services on 127.0.0.1 for the region-verify demo.

us-east and ap-south are healthy; eu-west answers 503. Prints one URL per line, then
serves until killed.
"""
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


servers = []
for region, status in REGIONS.items():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(region, status))
    servers.append(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"{region} http://127.0.0.1:{server.server_address[1]}/healthz", flush=True)
sys.stdout.close()
threading.Event().wait()
