//! The `wasi:http` transport inside a component: one attempt of a [`Request`], written and read
//! by hand and cut off at its timeout.

use super::{HttpError, Method, Request, Response, Target, classify};
use crate::exchange::header;
use wasip2::http::types as wasi;

impl Request {
    /// One attempt over `wasi:http`, within the request's timeout.
    pub(super) async fn attempt(&self, target: &Target) -> Result<Response, HttpError> {
        use wstd::future::FutureExt;
        match self
            .exchange(target)
            .timeout(wstd::time::Duration::from(self.timeout))
            .await
        {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout {
                origin: target.origin.clone(),
                after: self.timeout,
            }),
        }
    }

    /// One request and its whole response, by hand over `wasi:http` rather than through
    /// wstd's `Client`: when the sandbox refuses a request with a body, the body stream
    /// closes first and the client reports a bare "connection reset"; here a failed write
    /// defers to the response, which carries the real reason.
    async fn exchange(&self, target: &Target) -> Result<Response, HttpError> {
        let origin = &target.origin;
        let other = |detail: String| HttpError::Other {
            origin: origin.clone(),
            detail,
        };
        let fields = wasi::Fields::new();
        for (name, value) in self.wire_headers() {
            fields
                .append(&name, value.as_bytes())
                .map_err(|e| other(format!("header `{name}` was refused: {e:?}")))?;
        }
        let request = wasi::OutgoingRequest::new(fields);
        let scheme = if target.https {
            wasi::Scheme::Https
        } else {
            wasi::Scheme::Http
        };
        request
            .set_method(&wasi_method(self.method))
            .and_then(|()| request.set_scheme(Some(&scheme)))
            .and_then(|()| request.set_authority(Some(&target.authority)))
            .and_then(|()| request.set_path_with_query(Some(&target.path)))
            .map_err(|()| other("the request line was refused".into()))?;
        let body = request
            .body()
            .map_err(|()| other("the request body was already taken".into()))?;
        // No `request-options`: wasmtime-wasi-http 48's `handle` reads them with a table `get`
        // and never deletes them, so each request would leave one resource behind in the host
        // and a plugin would hit the host's resource cap after ~2,000 requests (the lock
        // contention tests make more). The timeout around the whole exchange (`attempt`)
        // bounds connect, first byte and body alike.
        let pending = wasip2::http::outgoing_handler::handle(request, None)
            .map_err(|code| classify(&code, origin, self.timeout))?;

        let written = write_body(body, self.body.as_deref().unwrap_or_default()).await;
        wstd::runtime::AsyncPollable::new(pending.subscribe()).wait_for().await;
        let incoming = match pending.get() {
            Some(Ok(Ok(incoming))) => incoming,
            Some(Ok(Err(code))) => return Err(classify(&code, origin, self.timeout)),
            _ => {
                return Err(match written {
                    Err(e) => HttpError::Connect {
                        origin: origin.clone(),
                        detail: format!("sending the request failed: {e}"),
                    },
                    Ok(()) => other("the response was lost".into()),
                });
            }
        };

        let status = incoming.status();
        let headers: Vec<(String, String)> = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let declared = header(&headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_body as u64) {
            return Err(HttpError::BodyTooLarge { limit: self.max_body });
        }
        let body = read_body(&incoming, self.max_body, origin).await?;
        Ok(Response::new(status, headers, body))
    }
}

/// The method as `wasi:http` names it.
fn wasi_method(method: Method) -> wasi::Method {
    match method {
        Method::Get => wasi::Method::Get,
        Method::Head => wasi::Method::Head,
        Method::Post => wasi::Method::Post,
        Method::Put => wasi::Method::Put,
        Method::Delete => wasi::Method::Delete,
        Method::Options => wasi::Method::Options,
        Method::Patch => wasi::Method::Patch,
    }
}

/// Write the whole request body and finish it. A refused request closes the stream.
async fn write_body(body: wasi::OutgoingBody, data: &[u8]) -> Result<(), String> {
    let stream = body
        .write()
        .map_err(|()| "the request body was already taken".to_string())?;
    let stream = wstd::io::AsyncOutputStream::new(stream);
    if !data.is_empty() {
        stream.write_all(data).await.map_err(|e| e.to_string())?;
    }
    // The stream is a child of the body: drop it before finishing.
    drop(stream);
    wasi::OutgoingBody::finish(body, None).map_err(|code| format!("{code:?}"))
}

/// Read the response body, failing as soon as it passes `limit` bytes.
async fn read_body(incoming: &wasi::IncomingResponse, limit: usize, origin: &str) -> Result<Vec<u8>, HttpError> {
    let lost = |detail: String| HttpError::Connect {
        origin: origin.to_string(),
        detail,
    };
    let body = incoming
        .consume()
        .map_err(|()| lost("the response body was already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|()| lost("the response body was already taken".into()))?;
    // Declared after `body`, so dropped before it (the stream is its child).
    let stream = wstd::io::AsyncInputStream::new(stream);
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| lost(format!("reading the response failed: {e}")))?;
        if n == 0 {
            break;
        }
        if bytes.len() + n > limit {
            return Err(HttpError::BodyTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    Ok(bytes)
}
