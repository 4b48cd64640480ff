//! The `file` backend: a lock directory inside a granted path, for local and `act` runs.
//!
//! Each write is a new generation file, `gen-<N>.json`, created complete and exclusively: the
//! record goes to a temporary file first, which is then hard-linked to its generation's name
//! (a link never replaces an existing name), so exactly one writer wins generation N+1 and no
//! reader ever sees half a record. Generations are never deleted: a deleted name could be
//! created again by a writer that read it long ago, and that writer would win a stale swap.
//! They are small (one per operation); delete the key's directory while no run uses the lock
//! to reclaim them. A `latest` hint makes finding the newest generation cheap: generations
//! are contiguous, so a reader probes upward from it. Times come from the files themselves,
//! stamped by the filesystem's clock, not the contender's.

use super::{Backend, BackendError, Current, Put, Version};
use crate::lease::Record;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// A key's lock directory.
pub struct FileBackend {
    dir: PathBuf,
}

impl FileBackend {
    /// The lock directory of `key` under `root` (created when missing).
    pub fn new(root: &Path, key: &str) -> Result<Self, BackendError> {
        // Outside every granted directory the sandbox shows nothing: say which grant is missing.
        if !root.is_dir() {
            return Err(BackendError::Denied(format!(
                "`{}` is not a directory this step can see. Grant it with `allow-write` (`--allow-write DIR`, a \
                 pipeline's `allow: {{write: [DIR]}}`)",
                root.display()
            )));
        }
        let dir = root.join(key);
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "create the lock directory", &e))?;
        Ok(FileBackend { dir })
    }

    fn generation_path(&self, generation: u64) -> PathBuf {
        self.dir.join(format!("gen-{generation:020}.json"))
    }

    fn hint_path(&self) -> PathBuf {
        self.dir.join("latest")
    }

    fn exists(&self, generation: u64) -> Result<bool, BackendError> {
        let path = self.generation_path(generation);
        path.try_exists().map_err(|e| io_error(&path, "look for", &e))
    }

    /// The newest generation: from the hint (which may lag, never lead), upward.
    fn latest(&self) -> Result<Option<u64>, BackendError> {
        let hint = std::fs::read_to_string(self.hint_path())
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|&g| g >= 1);
        let mut latest = match hint {
            Some(g) => g,
            None if self.exists(1)? => 1,
            None => return Ok(None),
        };
        while self.exists(latest + 1)? {
            latest += 1;
        }
        Ok(Some(latest))
    }

    /// Move the hint forward to `generation` (a rename: readers see the old or the new one).
    fn hint(&self, generation: u64) {
        if let Ok(scratch) = self.scratch(&generation.to_string())
            && std::fs::rename(&scratch, self.hint_path()).is_err()
        {
            let _ = std::fs::remove_file(&scratch);
        }
    }

    /// A temporary file holding `text`, stamped by the filesystem's clock.
    fn scratch(&self, text: &str) -> Result<PathBuf, BackendError> {
        let path = self.dir.join(format!(".tmp-{}", crate::token()));
        std::fs::write(&path, text).map_err(|e| io_error(&path, "write", &e))?;
        Ok(path)
    }
}

fn modified_ms(path: &Path) -> Result<u64, std::io::Error> {
    let modified = std::fs::metadata(path)?.modified()?;
    Ok(modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0))
}

fn io_error(path: &Path, doing: &str, e: &std::io::Error) -> BackendError {
    let text = format!("cannot {doing} `{}`: {e}", path.display());
    if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem) || e.raw_os_error() == Some(76) {
        BackendError::Denied(format!(
            "{text}. Grant the lock directory with `allow-write` (`--allow-write DIR`, a pipeline's `allow: {{write: [DIR]}}`)"
        ))
    } else {
        BackendError::Unavailable(text)
    }
}

impl Backend for FileBackend {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn read(&mut self) -> Result<Option<Current>, BackendError> {
        let Some(generation) = self.latest()? else {
            return Ok(None);
        };
        let path = self.generation_path(generation);
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, "read", &e))?;
        let written = modified_ms(&path).map_err(|e| io_error(&path, "stat", &e))?;
        let record = Record::from_json(&text)
            .map_err(|e| BackendError::Foreign(format!("`{}` is {e}; it is left alone", path.display())))?;
        Ok(Some(Current {
            version: Version(generation.to_string()),
            record,
            written_ms: Some(written),
        }))
    }

    fn put(&mut self, expected: Option<&Version>, record: &Record) -> Result<Put, BackendError> {
        let generation = match expected {
            None => 1,
            Some(v) => {
                v.0.parse::<u64>()
                    .map_err(|_| BackendError::Foreign(format!("generation `{}`", v.0)))?
                    + 1
            }
        };
        let scratch = self.scratch(&record.to_json())?;
        let target = self.generation_path(generation);
        let linked = std::fs::hard_link(&scratch, &target);
        let _ = std::fs::remove_file(&scratch);
        match linked {
            Ok(()) => {
                self.hint(generation);
                Ok(Put::Won(Version(generation.to_string())))
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Put::Lost),
            Err(e) => Err(io_error(&target, "create", &e)),
        }
    }

    fn now_ms(&mut self) -> Result<Option<u64>, BackendError> {
        let scratch = self.scratch("")?;
        let now = modified_ms(&scratch);
        let _ = std::fs::remove_file(&scratch);
        now.map(Some).map_err(|e| io_error(&scratch, "stat", &e))
    }
}
