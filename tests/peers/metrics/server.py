#!/usr/bin/env python3
"""A tiny "service" whose Prometheus metrics a test drives (test peer).

Python 3 standard library only.  Prometheus scrapes it; the test steers what the
scrapes see through a small control API, so PromQL answers are exact and known.

    python3 tests/peers/metrics/server.py --port 0 --port-file PATH \
        [--version 1.0.0] [--region local] [--verbose]

Binds 127.0.0.1.  With --port 0 the OS picks the port; it is written to --port-file
(atomically, via rename) once the socket listens, so callers poll for the file.

Metrics (GET /metrics, text exposition format 0.0.4), per configured series
(service, variant), variant e.g. "stable", "canary", "baseline":

  http_requests_total{service,variant,code}            counter, code "200" and "500"
  http_request_duration_seconds{service,variant}       histogram (_bucket{le}, _sum, _count)
  canary_weight{service}                               gauge, per service (default 0)
  test_value{name}                                     gauge, any float incl. NaN/+Inf/-Inf

Every GET /metrics is one "scrape" and advances every series by `rps` requests
(default 100), of which round(rps * error_ratio) are code 500 (Python's round: half
to even) and the rest code 200.  All of that scrape's requests are observed at one
latency: `latency_ms`, or with `jitter` (milliseconds, default 0) a value drawn
uniformly from [latency_ms - jitter, latency_ms + jitter] (clamped at 0) by an RNG
seeded from "service/variant" (or `seed`), so the sequence is deterministic.  Each
observation goes into the bucket containing that latency and _sum grows by n times
it.  So, whatever the timing of the scrapes,

  sum(rate(http_requests_total{code="500"}[w])) / sum(rate(http_requests_total[w]))
      == round(rps * error_ratio) / rps
  rate(http_request_duration_seconds_sum[w]) / rate(..._count[w]) == latency_ms / 1000
      (without jitter)
  histogram_quantile(q, ...) lies inside the bucket that contains latency_ms.

Control API (JSON in and out; errors are 400/404 with {"error": "..."}):

  POST   /_control/series   {service, variant, rps?, error_ratio?, latency_ms?, jitter?, seed?}
                            create, or update only the given fields (counters keep counting)
  DELETE /_control/series?service=S&variant=V
                            the series disappears from /metrics (Prometheus: stale, "no data")
  POST   /_control/value    {name, value}  value a number or "NaN", "+Inf", "-Inf", "1.5"...
  DELETE /_control/value?name=N
  POST   /_control/weight   {service, weight}
  POST   /_control/health   {healthy: bool, version?: str, region?: str}
  GET    /_control/state    everything, incl. "scrapes" (GET /metrics served so far);
                            floats that may be NaN/Inf are given as strings

GET /healthz: 200 {"status":"ok","version":...,"region":...}, or 503 with
"status":"unhealthy" once set unhealthy.

GET /_echo: 200 with the request's headers as a JSON object (lower-case names), as a careless
metrics backend echoes what it was sent: the leak tests check that an echoed secret is masked.
"""

import argparse
import json
import math
import os
import random
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.5)  # and +Inf
MAX_BODY = 65536


class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def prom_float(x):
    """A float as the exposition format and Prometheus' HTTP API spell it."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def escape_label(value):
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def labels(**kv):
    return "{" + ",".join('%s="%s"' % (k, escape_label(str(v))) for k, v in kv.items()) + "}"


def parse_float(value, field):
    if isinstance(value, bool):
        raise BadRequest(400, "%s must be a number" % field)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())  # accepts NaN, +Inf, -Inf, Inf, inf, 1e3...
        except ValueError:
            pass
    raise BadRequest(400, "%s must be a number or a string such as \"NaN\", \"+Inf\"" % field)


def parse_finite(value, field, low=None, high=None):
    x = parse_float(value, field)
    if not math.isfinite(x) or (low is not None and x < low) or (high is not None and x > high):
        bounds = "[%s, %s]" % (prom_float(low) if low is not None else "-Inf",
                               prom_float(high) if high is not None else "+Inf")
        raise BadRequest(400, "%s must be a finite number in %s" % (field, bounds))
    return x


def need_str(body, field):
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise BadRequest(400, "%s (a non-empty string) is required" % field)
    return value


class Series:
    def __init__(self, service, variant):
        self.service = service
        self.variant = variant
        self.rps = 100
        self.error_ratio = 0.0
        self.latency_ms = 50.0
        self.jitter = 0.0
        self.rng = random.Random("%s/%s" % (service, variant))
        self.ok = 0
        self.errors = 0
        self.buckets = [0] * (len(BUCKETS) + 1)  # non-cumulative; the last is +Inf only
        self.sum = 0.0
        self.count = 0
        self.last_latency_ms = None

    def configure(self, body):
        if "rps" in body:
            rps = parse_finite(body["rps"], "rps", 0)
            if rps != int(rps):
                raise BadRequest(400, "rps must be a whole number")
            self.rps = int(rps)
        if "error_ratio" in body:
            self.error_ratio = parse_finite(body["error_ratio"], "error_ratio", 0, 1)
        if "latency_ms" in body:
            self.latency_ms = parse_finite(body["latency_ms"], "latency_ms", 0)
        if "jitter" in body:
            self.jitter = parse_finite(body["jitter"], "jitter", 0)
        if "seed" in body:
            self.rng = random.Random(body["seed"])

    def advance(self):
        n = self.rps
        errors = min(n, max(0, round(n * self.error_ratio)))
        latency = self.latency_ms
        if self.jitter:
            latency = max(0.0, latency + self.rng.uniform(-self.jitter, self.jitter))
        self.last_latency_ms = latency
        self.ok += n - errors
        self.errors += errors
        seconds = latency / 1000.0
        index = next((i for i, le in enumerate(BUCKETS) if seconds <= le), len(BUCKETS))
        self.buckets[index] += n
        self.sum += n * seconds
        self.count += n

    def render(self, out):
        base = dict(service=self.service, variant=self.variant)
        out["http_requests_total"].append(
            "http_requests_total%s %d" % (labels(**base, code="200"), self.ok))
        out["http_requests_total"].append(
            "http_requests_total%s %d" % (labels(**base, code="500"), self.errors))
        lines = out["http_request_duration_seconds"]
        cumulative = 0
        for le, n in zip(BUCKETS + (math.inf,), self.buckets):
            cumulative += n
            lines.append("http_request_duration_seconds_bucket%s %d"
                         % (labels(**base, le=prom_float(le)), cumulative))
        lines.append("http_request_duration_seconds_sum%s %s" % (labels(**base), prom_float(self.sum)))
        lines.append("http_request_duration_seconds_count%s %d" % (labels(**base), self.count))

    def state(self):
        return {
            "service": self.service, "variant": self.variant, "rps": self.rps,
            "error_ratio": self.error_ratio, "latency_ms": self.latency_ms, "jitter": self.jitter,
            "requests": {"200": self.ok, "500": self.errors},
            "duration_count": self.count, "duration_sum": self.sum,
            "last_latency_ms": self.last_latency_ms,
        }


HELP = (
    ("http_requests_total", "counter", "Requests served, by status code."),
    ("http_request_duration_seconds", "histogram", "Request latency in seconds."),
    ("canary_weight", "gauge", "Percent of traffic sent to the canary."),
    ("test_value", "gauge", "A value set by the test."),
)


class State:
    def __init__(self, version, region):
        self.lock = threading.Lock()
        self.series = {}  # (service, variant) -> Series, in creation order
        self.values = {}  # name -> float
        self.weights = {}  # service -> float
        self.healthy = True
        self.version = version
        self.region = region
        self.scrapes = 0

    def scrape(self):
        with self.lock:
            self.scrapes += 1
            out = {name: [] for name, _, _ in HELP}
            services = []
            for s in self.series.values():
                s.advance()
                s.render(out)
                if s.service not in services:
                    services.append(s.service)
            for service in list(self.weights):
                if service not in services:
                    services.append(service)
            for service in services:
                out["canary_weight"].append("canary_weight%s %s" % (
                    labels(service=service), prom_float(self.weights.get(service, 0.0))))
            for name, value in self.values.items():
                out["test_value"].append("test_value%s %s" % (labels(name=name), prom_float(value)))
        text = []
        for name, kind, help_text in HELP:
            if out[name]:
                text.append("# HELP %s %s" % (name, help_text))
                text.append("# TYPE %s %s" % (name, kind))
                text.extend(out[name])
        return "\n".join(text) + "\n"

    def snapshot(self):
        with self.lock:
            return {
                "scrapes": self.scrapes,
                "series": [s.state() for s in self.series.values()],
                "values": {k: prom_float(v) for k, v in self.values.items()},
                "weights": dict(self.weights),
                "health": {"healthy": self.healthy, "version": self.version, "region": self.region},
            }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s\n" % (fmt % args))

    def send(self, status, body, content_type="application/json"):
        if not isinstance(body, bytes):
            if content_type == "application/json":
                body = json.dumps(body, allow_nan=False)
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def json_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise BadRequest(400, "body too large")
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise BadRequest(400, "invalid JSON: %s" % e)
        if not isinstance(body, dict):
            raise BadRequest(400, "the body must be a JSON object")
        return body

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        try:
            self.route(method)
        except BadRequest as e:
            self.send(e.status, {"error": str(e)})
        except Exception as e:  # a peer bug: say so rather than hang up
            self.send(500, {"error": "%s: %s" % (type(e).__name__, e)})

    def route(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        state = self.server.state
        path = url.path
        if path == "/metrics" and method == "GET":
            return self.send(200, state.scrape(), "text/plain; version=0.0.4; charset=utf-8")
        if path == "/healthz" and method == "GET":
            with state.lock:
                healthy, version, region = state.healthy, state.version, state.region
            return self.send(200 if healthy else 503, {
                "status": "ok" if healthy else "unhealthy", "version": version, "region": region})
        if path == "/_echo" and method == "GET":
            # What a careless metrics backend does: answer with the request's own headers.
            return self.send(200, {k.lower(): v for k, v in self.headers.items()})
        if path == "/_control/state" and method == "GET":
            return self.send(200, state.snapshot())
        if path == "/_control/series" and method == "POST":
            body = self.json_body()
            key = (need_str(body, "service"), need_str(body, "variant"))
            with state.lock:
                series = state.series.get(key) or Series(*key)
                series.configure(body)  # raises before a new series is stored
                state.series[key] = series
                return self.send(200, series.state())
        if path == "/_control/series" and method == "DELETE":
            key = (query.get("service", ""), query.get("variant", ""))
            with state.lock:
                if state.series.pop(key, None) is None:
                    raise BadRequest(404, "no series service=%r variant=%r" % key)
            return self.send(200, {"removed": {"service": key[0], "variant": key[1]}})
        if path == "/_control/value" and method == "POST":
            body = self.json_body()
            name = need_str(body, "name")
            if "value" not in body:
                raise BadRequest(400, "value is required")
            value = parse_float(body["value"], "value")
            with state.lock:
                state.values[name] = value
            return self.send(200, {"name": name, "value": prom_float(value)})
        if path == "/_control/value" and method == "DELETE":
            with state.lock:
                if state.values.pop(query.get("name", ""), None) is None:
                    raise BadRequest(404, "no value %r" % query.get("name", ""))
            return self.send(200, {"removed": query["name"]})
        if path == "/_control/weight" and method == "POST":
            body = self.json_body()
            service = need_str(body, "service")
            weight = parse_finite(body.get("weight"), "weight")
            with state.lock:
                state.weights[service] = weight
            return self.send(200, {"service": service, "weight": weight})
        if path == "/_control/health" and method == "POST":
            body = self.json_body()
            if not isinstance(body.get("healthy"), bool):
                raise BadRequest(400, "healthy (true or false) is required")
            with state.lock:
                state.healthy = body["healthy"]
                for field in ("version", "region"):
                    if field in body:
                        setattr(state, field, need_str(body, field))
            return self.send(200, state.snapshot()["health"])
        raise BadRequest(404, "no route %s %s" % (method, path))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--version", default="1.0.0", help="what /healthz reports")
    ap.add_argument("--region", default="local", help="what /healthz reports")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = State(a.version, a.region)
    srv.verbose = a.verbose
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    sys.stderr.write("metrics test peer listening on http://127.0.0.1:%d\n" % port)
    sys.stderr.flush()
    try:
        srv.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
