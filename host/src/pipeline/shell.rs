//! `run:` steps: a native `bash` command outside the sandbox, its process group, its
//! streamed output and its `$TOLLGATE_OUTPUT` file.

use crate::error::{Error, Result};
use crate::events::{Event, Sink};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};

pub(super) fn tempfile_path(what: &str) -> Result<PathBuf> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::Runner(format!("no randomness: {e}")))?;
    Ok(std::env::temp_dir().join(format!("tollgate-{what}-{}", hex::encode(bytes))))
}

/// Kills the command's whole process group when dropped (cancel, timeout), so a
/// `terraform` started by the script does not outlive its step.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
            unsafe {
                libc::kill(-pid, libc::SIGTERM);
            }
        }
    }
}

/// Run `bash -eo pipefail -c SCRIPT`, streaming its output; returns the exit code and the
/// last line it printed (for the failure message).
pub(super) async fn shell(
    script: &str,
    dir: &Path,
    env: &BTreeMap<String, String>,
    outputs_file: &Path,
    artifacts_dir: &Path,
    sink: Arc<dyn Sink>,
) -> Result<(i32, Option<String>)> {
    std::fs::write(outputs_file, "").map_err(|e| Error::io(outputs_file, e))?;
    let mut child = tokio::process::Command::new("bash")
        .args(["-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .envs(env)
        .env("TOLLGATE_OUTPUT", outputs_file)
        .env("TOLLGATE_ARTIFACTS", artifacts_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Runner(format!("cannot start bash in {}: {e}", dir.display())))?;
    let mut guard = GroupGuard(child.id());
    let last = Arc::new(Mutex::new(None::<String>));
    let (_, _, status) = tokio::join!(
        pump(child.stdout.take(), sink.clone(), last.clone()),
        pump(child.stderr.take(), sink.clone(), last.clone()),
        child.wait()
    );
    let status = status.map_err(|e| Error::Runner(format!("waiting for bash: {e}")))?;
    guard.0 = None;
    let last = last.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok((status.code().unwrap_or(128 + 15), last))
}

/// Forward a command's output line by line, remembering the last non-empty line.
async fn pump<R: tokio::io::AsyncRead + Unpin>(
    reader: Option<R>,
    sink: Arc<dyn Sink>,
    last: Arc<Mutex<Option<String>>>,
) {
    let Some(reader) = reader else { return };
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if !line.trim().is_empty() {
            *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(line.trim().to_string());
        }
        sink.emit(Event::Log {
            level: crate::bindings::tollgate::plugin::types::Level::Info,
            message: line,
            host: false,
        });
    }
}

/// `$TOLLGATE_OUTPUT`, in `$GITHUB_OUTPUT`'s format: `name=value` or `name<<DELIM` … `DELIM`.
pub(super) fn parse_outputs(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            out.insert(name.trim().to_string(), Value::String(value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.trim().to_string(), Value::String(value.to_string()));
        }
    }
    out
}
