"""HTTP requests from a Tollgate plugin written in Python, over `wasi:http`.

Copy this file next to `app.py` (`tollgate plugin new --lang python` does). Python's own
`urllib`/`http.client` cannot work in the sandbox (there are no sockets); requests go
through the host's `wasi:http/outgoing-handler`, which only reaches origins the step grants.

    import tollgate_http as http

    r = http.get("https://api.example.com/v1/status", timeout=10)
    r.raise_for_status()
    data = r.json()

    r = http.post(url, json={"ok": True}, headers={"authorization": f"Bearer {token}"})

Every call takes `timeout` (seconds, for the whole exchange: connect, response headers and
body) and `max_body` (bytes of response body kept; more raises `BodyTooLarge`).

Errors are subclasses of `HttpError`:
- `Denied(origin)`: the step does not grant the URL's origin (or the address is one plugins
  may never reach). Never worth retrying; the workflow has to grant the origin.
- `Timeout`, `BodyTooLarge`, `InvalidUrl`, `StatusError` (from `raise_for_status`), and
  `HttpError` itself for connection, DNS, TLS and protocol failures.
`e.plugin_error()` turns any of them into what `run` raises: `Denied` becomes the
`denied` plugin error (exit 2), everything else a `peer` error (exit 1):

    try:
        r = http.get(url)
    except http.HttpError as e:
        raise e.plugin_error()

The requests are synchronous (the `run` export is): the helper waits on `wasi:io/poll`
directly, racing each wait against a monotonic-clock deadline. For concurrent requests use
componentize-py's `poll_loop` module (asyncio), which this world keeps working when built
with `--import-interface-name wasi:http/types@0.2.12=types` (the template's build command).
"""

import json as _json
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world.imports import monotonic_clock, outgoing_handler, poll, streams

# `types` when the build names it so (see the module doc), `wasi_http_types` otherwise.
try:
    from wit_world.imports import wasi_http_types as _http
except ImportError:
    from wit_world.imports import types as _http  # type: ignore[no-redef]

import tollgate

__all__ = [
    "request", "get", "post", "put", "delete",
    "Response", "HttpError", "Denied", "Timeout", "BodyTooLarge", "InvalidUrl", "StatusError",
    "DEFAULT_TIMEOUT", "DEFAULT_MAX_BODY",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BODY = 10 * 1024 * 1024
_READ_SIZE = 64 * 1024
_NS = 1_000_000_000


# --- errors ---------------------------------------------------------------------------

class HttpError(Exception):
    """A request that did not produce a usable response."""

    def __init__(self, message: str, origin: str = "", code: Any = None):
        super().__init__(message)
        self.origin = origin
        # The wasi:http `error-code` value when the host gave one.
        self.code = code

    def plugin_error(self) -> Err:
        """What `run` should raise for this error: a `peer` error."""
        return tollgate.peer(str(self))


class Denied(HttpError):
    """The sandbox refused the request: the step does not grant the origin."""

    def __init__(self, origin: str, code: Any = None):
        super().__init__(
            f"the request to {origin} was denied: this step needs {origin} granted", origin, code
        )

    def plugin_error(self) -> Err:
        return tollgate.denied(str(self))


class Timeout(HttpError):
    def __init__(self, origin: str, seconds: float, code: Any = None):
        super().__init__(f"the request to {origin} timed out after {seconds:g}s", origin, code)
        self.seconds = seconds


class BodyTooLarge(HttpError):
    def __init__(self, origin: str, limit: int):
        super().__init__(f"the response from {origin} is larger than {limit} bytes", origin)
        self.limit = limit


class InvalidUrl(HttpError):
    def __init__(self, url: str, reason: str):
        super().__init__(f"`{url}` is not a usable URL: {reason}")
        self.url = url


class StatusError(HttpError):
    """Raised by `Response.raise_for_status` for a 4xx or 5xx status."""

    def __init__(self, response: "Response"):
        snippet = " ".join(response.text(errors="replace")[:400].split())[:200]
        super().__init__(
            f"{response.url} answered {response.status}" + (f": {snippet}" if snippet else ""),
            response.origin,
        )
        self.response = response


# --- response -------------------------------------------------------------------------

class Response:
    def __init__(self, url: str, origin: str, status: int,
                 headers: List[Tuple[str, bytes]], body: bytes):
        self.url = url
        self.origin = origin
        self.status = status
        # (lower-case name, value) pairs in the order received.
        self.headers = [(k.lower(), v.decode("latin-1")) for k, v in headers]
        self.body = body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> Optional[str]:
        """The first value of a header (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def text(self, errors: str = "strict") -> str:
        return self.body.decode("utf-8", errors)

    def json(self) -> Any:
        return _json.loads(self.body)

    def raise_for_status(self) -> "Response":
        if self.status >= 400:
            raise StatusError(self)
        return self

    def __repr__(self) -> str:
        return f"<Response {self.status} from {self.url} ({len(self.body)} bytes)>"


# --- requests -------------------------------------------------------------------------

def get(url: str, **kw) -> Response:
    return request("GET", url, **kw)


def post(url: str, **kw) -> Response:
    return request("POST", url, **kw)


def put(url: str, **kw) -> Response:
    return request("PUT", url, **kw)


def delete(url: str, **kw) -> Response:
    return request("DELETE", url, **kw)


_METHODS = {
    "GET": _http.Method_Get, "HEAD": _http.Method_Head, "POST": _http.Method_Post,
    "PUT": _http.Method_Put, "DELETE": _http.Method_Delete, "OPTIONS": _http.Method_Options,
    "PATCH": _http.Method_Patch,
}


def request(method: str, url: str, *,
            headers: Optional[Mapping[str, str]] = None,
            body: Union[bytes, str, None] = None,
            json: Any = None,
            timeout: float = DEFAULT_TIMEOUT,
            max_body: int = DEFAULT_MAX_BODY) -> Response:
    """Send one request and read the whole response body (at most `max_body` bytes).

    `json` (any JSON-serialisable value) sends a JSON body with `content-type:
    application/json` unless `headers` sets one. Redirects are not followed.
    """
    origin, scheme, authority, path = _split(url)
    header_list = [(k.lower(), str(v).encode("utf-8")) for k, v in (headers or {}).items()]
    if json is not None:
        body = _json.dumps(json).encode("utf-8")
        if not any(k == "content-type" for k, _ in header_list):
            header_list.append(("content-type", b"application/json"))
    if isinstance(body, str):
        body = body.encode("utf-8")

    deadline = monotonic_clock.now() + int(timeout * _NS)
    try:
        fields = _http.Fields.from_list(header_list)
    except Err as e:
        raise HttpError(f"invalid request header: {e.value}", origin) from None
    req = _http.OutgoingRequest(fields)
    m = method.upper()
    req.set_method(_METHODS[m]() if m in _METHODS else _http.Method_Other(m))
    req.set_scheme(_http.Scheme_Https() if scheme == "https" else _http.Scheme_Http())
    req.set_authority(authority)
    req.set_path_with_query(path)
    options = _http.RequestOptions()
    for setter in (options.set_connect_timeout, options.set_first_byte_timeout,
                   options.set_between_bytes_timeout):
        try:
            setter(int(timeout * _NS))
        except Err:
            pass  # the host does not support this timeout; the deadline below still holds
    out_body = req.body()
    try:
        future = outgoing_handler.handle(req, options)
    except Err as e:
        _drop(out_body)
        raise _error(e.value, origin, timeout) from None

    # The request is sent; write its body (the host reads it while we write).
    try:
        if body:
            _write_all(out_body, body, deadline, origin, timeout)
        _http.OutgoingBody.finish(out_body, None)
    except BaseException:
        _drop(future)
        raise

    response = _await_response(future, deadline, origin, timeout)
    try:
        status = response.status()
        h = response.headers()
        entries = h.entries()
        _drop(h)
        data = _read_all(response, deadline, origin, timeout, max_body)
    finally:
        _drop(response)
    return Response(url, origin, status, entries, data)


def _split(url: str) -> Tuple[str, str, str, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InvalidUrl(url, str(e)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidUrl(url, "only http:// and https:// URLs are supported")
    if not parts.hostname:
        raise InvalidUrl(url, "it has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidUrl(url, "credentials in URLs are not supported; send an authorization header")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    authority = host if port is None else f"{host}:{port}"
    origin = f"{scheme}://{host}:{port if port is not None else default}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return origin, scheme, authority, path


def _drop(resource: Any) -> None:
    if resource is not None:
        resource.__exit__(None, None, None)


def _wait(pollable: Any, deadline: int, origin: str, timeout: float) -> None:
    """Block until `pollable` is ready, or raise Timeout at the deadline."""
    timer = monotonic_clock.subscribe_instant(deadline)
    try:
        ready = poll.poll([pollable, timer])
    finally:
        _drop(timer)
    if 0 not in ready:
        raise Timeout(origin, timeout)


def _write_all(out_body: Any, data: bytes, deadline: int, origin: str, timeout: float) -> None:
    stream = out_body.write()
    pollable = stream.subscribe()
    try:
        offset = 0
        while offset < len(data):
            n = stream.check_write()
            if n == 0:
                _wait(pollable, deadline, origin, timeout)
                continue
            n = min(n, len(data) - offset)
            stream.write(data[offset:offset + n])
            offset += n
        stream.flush()
        while stream.check_write() == 0:
            _wait(pollable, deadline, origin, timeout)
    except Err as e:
        raise _stream_error(e.value, origin, timeout) from None
    finally:
        _drop(pollable)
        _drop(stream)


def _await_response(future: Any, deadline: int, origin: str, timeout: float) -> Any:
    pollable = future.subscribe()
    try:
        while True:
            got = future.get()
            if got is not None:
                break
            _wait(pollable, deadline, origin, timeout)
    finally:
        _drop(pollable)
        _drop(future)
    if isinstance(got, Ok) and isinstance(got.value, Ok):
        return got.value.value
    if isinstance(got, Ok):
        raise _error(got.value.value, origin, timeout)
    raise HttpError(f"the request to {origin} failed: its response was already taken", origin)


def _read_all(response: Any, deadline: int, origin: str, timeout: float, max_body: int) -> bytes:
    body = response.consume()
    stream = body.stream()
    pollable = stream.subscribe()
    chunks: List[bytes] = []
    size = 0
    try:
        while True:
            try:
                chunk = stream.read(_READ_SIZE)
            except Err as e:
                if isinstance(e.value, streams.StreamError_Closed):
                    break
                raise _stream_error(e.value, origin, timeout) from None
            if not chunk:
                _wait(pollable, deadline, origin, timeout)
                continue
            size += len(chunk)
            if size > max_body:
                raise BodyTooLarge(origin, max_body)
            chunks.append(chunk)
    finally:
        _drop(pollable)
        _drop(stream)
    _drop(_http.IncomingBody.finish(body))
    return b"".join(chunks)


def _stream_error(err: Any, origin: str, timeout: float) -> HttpError:
    if isinstance(err, streams.StreamError_LastOperationFailed):
        code = _http.http_error_code(err.value)
        detail = err.value.to_debug_string()
        _drop(err.value)
        if code is not None:
            return _error(code, origin, timeout)
        return HttpError(f"the request to {origin} failed: {detail}", origin)
    return HttpError(f"the connection to {origin} closed early", origin)


def _error(code: Any, origin: str, timeout: float) -> HttpError:
    """Map a wasi:http `error-code` to an exception."""
    if isinstance(code, (_http.ErrorCode_HttpRequestDenied, _http.ErrorCode_DestinationIpProhibited)):
        return Denied(origin, code)
    if isinstance(code, (_http.ErrorCode_ConnectionTimeout, _http.ErrorCode_ConnectionReadTimeout,
                         _http.ErrorCode_ConnectionWriteTimeout, _http.ErrorCode_HttpResponseTimeout,
                         _http.ErrorCode_DnsTimeout)):
        return Timeout(origin, timeout, code)
    what = {
        "ErrorCode_ConnectionRefused": "the connection was refused",
        "ErrorCode_DnsError": "the host name did not resolve",
        "ErrorCode_DestinationNotFound": "the host name did not resolve",
        "ErrorCode_TlsCertificateError": "its TLS certificate did not verify",
        "ErrorCode_ConnectionTerminated": "the connection closed early",
        "ErrorCode_HttpRequestBodySize": "the request body is too large",
    }.get(type(code).__name__, type(code).__name__.removeprefix("ErrorCode_"))
    return HttpError(f"the request to {origin} failed: {what}", origin, code)
