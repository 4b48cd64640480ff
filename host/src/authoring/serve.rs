//! The local HTTP server a `tollgate-tests.yaml` may declare (`serve:`): fixed answers on
//! 127.0.0.1, so a case exercises a plugin's real HTTP path through the host's network
//! rules without reaching the internet.

use crate::error::{Error, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// One fixed answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The request method; `GET` unless given.
    #[serde(default = "get")]
    method: String,
    /// The path, without the query string.
    path: String,
    /// The status; 200 unless given.
    #[serde(default = "ok")]
    status: u16,
    /// Extra response headers.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// A text body.
    body: Option<String>,
    /// A JSON body (sets `content-type: application/json`).
    json: Option<Value>,
}

fn get() -> String {
    "GET".into()
}

fn ok() -> u16 {
    200
}

/// A running server; it stops when dropped.
pub struct Server {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Listen on an ephemeral port of 127.0.0.1.
    pub async fn start(routes: Vec<Route>) -> Result<Self> {
        for route in &routes {
            http::StatusCode::from_u16(route.status).map_err(|_| {
                Error::invalid(
                    "serve status",
                    route.status.to_string(),
                    "use an HTTP status from 100 to 999",
                )
            })?;
            if route.body.is_some() && route.json.is_some() {
                return Err(Error::invalid(
                    "serve route",
                    route.path.clone(),
                    "give `body` or `json`, not both",
                ));
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Runtime(format!("cannot start the test server: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Runtime(format!("cannot start the test server: {e}")))?;
        let routes = Arc::new(routes);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let routes = routes.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(routes.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url: format!("http://{addr}"),
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer<B>(
    routes: Arc<Vec<Route>>,
    request: Request<B>,
) -> std::result::Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    let method = request.method().as_str();
    let Some(route) = routes
        .iter()
        .find(|r| r.path == path && r.method.eq_ignore_ascii_case(method))
    else {
        let body = format!("no route for {method} {path} in tollgate-tests.yaml `serve:`\n");
        return Ok(response(404, &BTreeMap::new(), None, Bytes::from(body)));
    };
    let (content_type, body) = match (&route.json, &route.body) {
        (Some(json), _) => (Some("application/json"), Bytes::from(json.to_string())),
        (None, Some(body)) => (None, Bytes::from(body.clone())),
        (None, None) => (None, Bytes::new()),
    };
    Ok(response(route.status, &route.headers, content_type, body))
}

fn response(
    status: u16,
    headers: &BTreeMap<String, String>,
    content_type: Option<&str>,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(status);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(Full::new(body.clone())).unwrap_or_else(|_| {
        // A header the author wrote that HTTP cannot carry: answer without it.
        let mut plain = Response::new(Full::new(body));
        *plain.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
        plain
    })
}
