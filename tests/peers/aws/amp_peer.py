"""Amazon Managed Prometheus' query API, as far as SigV4 goes (test peer).

Moto does not serve AMP's data plane, so this peer checks what AMP checks first: the request's
SigV4 signature, recomputed with botocore (the signer AWS's own SDKs use) from the request as
the server receives it — the query decoded and re-encoded canonically, only the headers the
client listed in `SignedHeaders`, its `x-amz-date` — for service `aps`. A request whose
signature matches is answered like Prometheus' `/api/v1/query` (one sample, `--value`); any
other gets AMP's 403 `{"message": ...}`. Serves `GET /workspaces/WS/api/v1/query` on
127.0.0.1 and writes the port to `--port-file` once it listens.

    python3 tests/peers/aws/amp_peer.py --port-file F --access-key AK --secret-key SK \
        [--region us-east-1] [--workspace ws-test] [--value 0.001]
"""

import argparse
import json
import os
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def expected_signature(args, method, path, query, headers, signed_names, amz_date):
    """The signature botocore computes for this request, as AMP would."""
    params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    url = "http://%s%s" % (headers.get("host", ""), path)
    request = AWSRequest(method=method, url=url, params=params, data=b"")
    for name in signed_names:
        request.headers[name] = headers.get(name, "")
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(args.access_key, args.secret_key), "aps", args.region)
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, why):
        self.send(403, {"message": why})

    def do_GET(self):
        args = self.server.args
        url = urllib.parse.urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        auth = headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return self.refuse("Missing Authentication Token")
        fields = dict(
            part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(",") if "=" in part
        )
        scope = fields.get("Credential", "").split("/")
        if len(scope) != 5 or scope[0] != args.access_key:
            return self.refuse("The security token included in the request is invalid.")
        if scope[2:] != [args.region, "aps", "aws4_request"]:
            return self.refuse("Credential should be scoped to a valid region and service aps.")
        amz_date = headers.get("x-amz-date", "")
        signed = fields.get("SignedHeaders", "").split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return self.refuse("host and x-amz-date must be signed.")
        want = expected_signature(args, "GET", url.path, url.query, headers, signed, amz_date)
        if fields.get("Signature") != want:
            return self.refuse(
                "The request signature we calculated does not match the signature you provided."
            )
        if url.path != "/workspaces/%s/api/v1/query" % args.workspace:
            return self.send(404, {"status": "error", "errorType": "not_found", "error": url.path})
        self.send(200, {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [time.time(), args.value]}]}})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--workspace", default="ws-test")
    parser.add_argument("--value", default="0.001")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.args = args
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
