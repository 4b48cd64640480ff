//! The local GitHub REST peer (`tests/peers/github/server.py`) as the e2e suites drive it:
//! started on a free port, seeded and inspected through its `/_control` API, and used
//! directly as another GitHub user would.

use crate::guests::workspace_root;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "e2e-github-token";
pub const REPOSITORY: &str = "octo-org/octo-repo";

/// The GitHub peer, killed when dropped.
pub struct Peer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    pub async fn start() -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let script: PathBuf = workspace_root().join("tests/peers/github/server.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--port", "0", "--port-file"])
            .arg(&port_file)
            .args(["--token", TOKEN, "--owner", "octo-org", "--repo", "octo-repo"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the GitHub peer");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse::<u16>()
            {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the GitHub peer exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the GitHub peer wrote no port file within 20s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Peer { child, port, _dir: dir }
    }

    pub fn url(&self, prefix: &str) -> String {
        format!("http://127.0.0.1:{}{prefix}", self.port)
    }

    /// One HTTP/1.1 request (`Connection: close`), its status and JSON body.
    pub async fn http(&self, method: &str, path: &str, body: Option<&Value>, auth: bool) -> (u16, Value) {
        let token = format!("Bearer {TOKEN}");
        let headers: Vec<(&str, &str)> = match auth {
            true => vec![("Authorization", token.as_str())],
            false => vec![],
        };
        http_json(self.port, method, path, &headers, body).await
    }

    pub async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.http(method, path, Some(&body), false).await;
        assert!(status < 300, "{method} {path}: {status} {answer}");
        answer
    }

    /// Make a GitHub API call directly, as someone else working on the repository would.
    pub async fn api(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/repos/{REPOSITORY}{path}");
        let (status, answer) = self.http(method, &path, Some(&body), true).await;
        assert!(status < 300, "{method} {path}: {status} {answer}");
        answer
    }

    pub async fn faults(&self, config: Value) {
        self.control("POST", "/_control/faults", config).await;
    }

    pub async fn state(&self) -> Value {
        self.control("GET", "/_control/state", json!({})).await
    }

    pub async fn repo(&self) -> Value {
        self.state().await["repos"][REPOSITORY].clone()
    }

    /// The API calls the peer received (control calls are not logged).
    pub async fn requests(&self) -> Vec<Value> {
        self.state().await["requests"].as_array().cloned().unwrap_or_default()
    }

    /// The live (not deleted) comments on an issue: `(id, body)`.
    pub async fn comments(&self, issue: u64) -> Vec<(u64, String)> {
        let repo = self.repo().await;
        repo["issues"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["number"] == issue)
            .flat_map(|i| i["comment_list"].as_array().cloned().unwrap_or_default())
            .filter(|c| c["deleted"] != true)
            .map(|c| {
                (
                    c["id"].as_u64().unwrap(),
                    c["body"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    pub async fn seed_pull(&self, number: u64) {
        self.control(
            "POST",
            "/_control/pulls",
            json!({"number": number, "title": "Add a lock", "head_sha": "a".repeat(40), "head_ref": "feature",
                   "base_ref": "main", "user": "octocat", "draft": true}),
        )
        .await;
    }
}

/// One HTTP/1.1 request to `127.0.0.1:port` (`Connection: close`, a JSON body if any): its
/// status and JSON body (`Null` when the answer is not JSON).
pub async fn http_json(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
