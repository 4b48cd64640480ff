//! The artifact store: data under `objects/sha256/<hex>`, one DSSE envelope per artifact name at `<name>.dsse.json`.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::dsse::{Envelope, PAYLOAD_TYPE};
use crate::error::{Error, Result};
use crate::keys::Signer;
use crate::statement::{self, NewStatement, NewSubject, PREDICATE_TYPE, Predicate, STATEMENT_TYPE};
use crate::verify::{Policy, check_envelope};

const ENVELOPE_SUFFIX: &str = ".dsse.json";
const OBJECTS: &str = "objects";

/// A directory of attested artifacts.
///
/// Layout: `DIR/objects/sha256/<hex>` holds each artifact's bytes (immutable, written atomically);
/// `DIR/<name>.dsse.json` holds the signed in-toto statement for artifact `name` (which may contain `/`).
/// The artifact's media type is the statement subject's `mediaType` (an in-toto ResourceDescriptor field).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Where [`Store::put`] wrote an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// `sha256:<hex>` of the data.
    pub digest: String,
    /// `DIR/<name>.dsse.json`.
    pub envelope_path: PathBuf,
    /// `DIR/objects/sha256/<hex>`.
    pub object_path: PathBuf,
    /// Whether the envelope carries a signature.
    pub signed: bool,
}

/// An artifact [`Store::get`] verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    /// The artifact name.
    pub name: String,
    /// The statement subject's `mediaType`, when it has one.
    pub media_type: Option<String>,
    /// `sha256:<hex>` of `data`.
    pub digest: String,
    /// The artifact's bytes.
    pub data: Vec<u8>,
    /// The whole in-toto statement.
    pub statement: Value,
    /// Key id of the trusted key whose signature verified; `None` when accepted unsigned.
    pub signed_by: Option<String>,
}

impl Store {
    /// A store rooted at `dir`; the directory is created by the first [`Store::put`].
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store> {
        let dir = dir.into();
        match fs::metadata(&dir) {
            Ok(meta) if !meta.is_dir() => Err(Error::Io {
                action: "use as artifact store directory",
                path: dir,
                source: io::Error::new(io::ErrorKind::AlreadyExists, "it exists and is not a directory"),
            }),
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(Error::Io {
                action: "open artifact store",
                path: dir,
                source: err,
            }),
            _ => Ok(Store { dir }),
        }
    }

    /// The store's root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the envelope of artifact `name` lives.
    pub fn envelope_path(&self, name: &str) -> Result<PathBuf> {
        validate_name(name)?;
        Ok(self.dir.join(format!("{name}{ENVELOPE_SUFFIX}")))
    }

    fn object_path(&self, hex: &str) -> PathBuf {
        self.dir.join(OBJECTS).join("sha256").join(hex)
    }

    /// Stores `data` as artifact `name` with a statement carrying `predicate`, signed by `signer` if given.
    /// Replaces an earlier envelope of the same name; data objects are never rewritten.
    pub fn put(
        &self,
        name: &str,
        media_type: &str,
        data: &[u8],
        predicate: &Predicate,
        signer: Option<&Signer>,
    ) -> Result<Stored> {
        let hex = hex::encode(Sha256::digest(data));
        let object_path = self.object_path(&hex);
        let intact = fs::read(&object_path).is_ok_and(|existing| hex::encode(Sha256::digest(existing)) == hex);
        if !intact {
            write_atomic(&object_path, data)?;
        }
        self.seal(name, media_type, &format!("sha256:{hex}"), predicate, signer)
    }

    /// Writes a new statement for an object already in the store (`digest` is `sha256:<hex>`), e.g. to record a
    /// step's final outcome without holding the artifact's bytes again. The object must be present.
    pub fn seal(
        &self,
        name: &str,
        media_type: &str,
        digest: &str,
        predicate: &Predicate,
        signer: Option<&Signer>,
    ) -> Result<Stored> {
        let envelope_path = self.envelope_path(name)?;
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        let object_path = self.object_path(hex);
        if !object_path.is_file() {
            return Err(Error::MissingObject {
                name: name.to_string(),
                path: object_path,
            });
        }

        let statement = NewStatement {
            type_: STATEMENT_TYPE,
            subject: [NewSubject {
                name,
                digest: [("sha256", hex)].into(),
                media_type,
            }],
            predicate_type: PREDICATE_TYPE,
            predicate,
        };
        let payload = serde_json::to_vec(&statement).map_err(|err| Error::MalformedStatement {
            detail: format!("cannot serialize the predicate ({err})"),
        })?;
        let envelope = Envelope::seal(PAYLOAD_TYPE, &payload, signer);
        let mut json = serde_json::to_vec_pretty(&envelope).map_err(|err| Error::MalformedEnvelope {
            detail: format!("cannot serialize the envelope ({err})"),
        })?;
        json.push(b'\n');
        write_atomic(&envelope_path, &json)?;

        Ok(Stored {
            digest: format!("sha256:{hex}"),
            envelope_path,
            object_path,
            signed: signer.is_some(),
        })
    }

    /// Fetches artifact `reference` (a name, or `sha256:<hex>`) after verifying it under `policy`.
    ///
    /// The statement's subject must be the artifact's name (or `policy.expect_subject`), the data must hash to the
    /// subject's digest, and every signature on the envelope must verify against a trusted key (an envelope without
    /// signatures is accepted only if `policy` allows unsigned); see [`Policy`] for the exact rules.
    pub fn get(&self, reference: &str, policy: &Policy) -> Result<Artifact> {
        let Some(hex) = reference.strip_prefix("sha256:") else {
            validate_name(reference)?;
            return self.get_named(reference, policy);
        };
        if !statement::is_sha256_hex(hex) {
            return Err(Error::InvalidName {
                name: reference.to_owned(),
                reason: "a digest reference is `sha256:` followed by 64 lowercase hex digits",
            });
        }
        let mut first_error = None;
        for name in self.names()? {
            let Ok(json) = fs::read(self.envelope_file(&name)) else {
                continue;
            };
            if envelope_digest(&json, &name).ok().as_deref() != Some(hex) {
                continue;
            }
            match self.get_named(&name, policy) {
                Ok(artifact) if artifact.digest == reference => return Ok(artifact),
                Ok(artifact) => {
                    first_error.get_or_insert(Error::DigestMismatch {
                        subject: name,
                        expected: reference.to_owned(),
                        actual: artifact.digest,
                    });
                }
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        Err(match first_error {
            Some(err) => err,
            None => self.not_found(reference),
        })
    }

    fn get_named(&self, name: &str, policy: &Policy) -> Result<Artifact> {
        let path = self.envelope_file(name);
        let json = match fs::read(&path) {
            Ok(json) => json,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(self.not_found(name)),
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        let expected = policy.expect_subject.as_deref().unwrap_or(name);
        let checked = check_envelope(&json, policy)?;
        let hex = match checked.candidates(Some(expected))?.first() {
            Some(subject) => subject.sha256()?.to_owned(),
            None => {
                return Err(Error::SubjectMismatch {
                    expected: expected.to_owned(),
                    found: Vec::new(),
                });
            }
        };
        let object_path = self.object_path(&hex);
        let data = match fs::read(&object_path) {
            Ok(data) => data,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(Error::MissingObject {
                    name: name.to_owned(),
                    path: object_path,
                });
            }
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path: object_path,
                    source,
                });
            }
        };
        let verified = checked.finish(&data, Some(expected))?;
        Ok(Artifact {
            name: name.to_owned(),
            media_type: verified.media_type,
            digest: verified.digest,
            data,
            statement: verified.statement,
            signed_by: verified.keyid,
        })
    }

    /// Every stored artifact as `(name, "sha256:<hex>")`, sorted by name.
    ///
    /// The digests are read from the envelopes without verification: this is for reports, not for trust.
    pub fn list(&self) -> Result<Vec<(String, String)>> {
        self.names()?
            .into_iter()
            .map(|name| {
                let path = self.envelope_file(&name);
                let json = fs::read(&path).map_err(|source| Error::Io {
                    action: "read",
                    path,
                    source,
                })?;
                let hex = envelope_digest(&json, &name)?;
                Ok((name, format!("sha256:{hex}")))
            })
            .collect()
    }

    fn envelope_file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{ENVELOPE_SUFFIX}"))
    }

    fn not_found(&self, reference: &str) -> Error {
        let available = match self.list() {
            Ok(entries) => entries
                .into_iter()
                .map(|(name, digest)| format!("{name} ({digest})"))
                .collect(),
            Err(_) => self.names().unwrap_or_default(),
        };
        Error::NotFound {
            reference: reference.to_owned(),
            dir: self.dir.clone(),
            available,
        }
    }

    /// Names of every envelope in the store, sorted.
    fn names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        walk(&self.dir, "", &mut names)?;
        names.sort();
        Ok(names)
    }
}

fn walk(dir: &Path, prefix: &str, names: &mut Vec<String>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound && prefix.is_empty() => return Ok(()),
        Err(source) => {
            return Err(Error::Io {
                action: "list directory",
                path: dir.to_owned(),
                source,
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            action: "list directory",
            path: dir.to_owned(),
            source,
        })?;
        let file_type = entry.file_type().map_err(|source| Error::Io {
            action: "inspect",
            path: entry.path(),
            source,
        })?;
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let name = format!("{prefix}{file_name}");
        if file_type.is_dir() {
            if name != OBJECTS {
                walk(&entry.path(), &format!("{name}/"), names)?;
            }
        } else if file_type.is_file()
            && let Some(name) = name.strip_suffix(ENVELOPE_SUFFIX)
            && validate_name(name).is_ok()
        {
            names.push(name.to_owned());
        }
    }
    Ok(())
}

/// The (unverified) sha256 hex of subject `name` in an envelope.
fn envelope_digest(json: &[u8], name: &str) -> Result<String> {
    let digest = || -> Result<String> {
        let envelope = Envelope::parse(json)?;
        let (_, header) = statement::parse(&envelope.payload_bytes()?)?;
        match header.subject.iter().find(|subject| subject.name == name) {
            Some(subject) => Ok(subject.sha256()?.to_owned()),
            None => Err(Error::SubjectMismatch {
                expected: name.to_owned(),
                found: header.subject.iter().map(|subject| subject.name.clone()).collect(),
            }),
        }
    };
    digest().map_err(|err| match err {
        Error::MalformedEnvelope { detail } => Error::MalformedEnvelope {
            detail: format!("`{name}`: {detail}"),
        },
        Error::MalformedStatement { detail } => Error::MalformedStatement {
            detail: format!("`{name}`: {detail}"),
        },
        other => other,
    })
}

/// Checks that `name` can be stored: relative, `/`-separated, no empty, `.` or `..` components, no `\` or control
/// characters, not under `objects/`, and not ending in `.dsse.json`.
pub fn validate_name(name: &str) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("it is empty; use a relative path such as `tfplan` or `us-east/tfplan`");
    }
    if name.starts_with('/') {
        return invalid("it is absolute; use a relative path such as `us-east/tfplan`");
    }
    if name.contains('\\') || name.chars().any(char::is_control) {
        return invalid("it contains `\\` or a control character; separate components with `/`");
    }
    if name
        .split('/')
        .any(|component| component.is_empty() || component == "." || component == "..")
    {
        return invalid("it has an empty, `.` or `..` component; use a plain relative path such as `us-east/tfplan`");
    }
    if name.split('/').any(|component| component.ends_with(ENVELOPE_SUFFIX)) {
        return invalid("it ends in `.dsse.json`, which the store reserves for envelopes; drop the suffix");
    }
    if name.split('/').next() == Some(OBJECTS) {
        return invalid("`objects/` is reserved for the store's data; choose another first component");
    }
    Ok(())
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|source| Error::Io {
        action: "create directory",
        path: parent.to_owned(),
        source,
    })?;
    let file_name = path.file_name().and_then(|name| name.to_str()).unwrap_or("artifact");
    let temp = parent.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = fs::File::create_new(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(source) = written {
        let _ = fs::remove_file(&temp);
        return Err(Error::Io {
            action: "write",
            path: temp,
            source,
        });
    }
    fs::rename(&temp, path).map_err(|source| {
        let _ = fs::remove_file(&temp);
        Error::Io {
            action: "rename into place",
            path: path.to_owned(),
            source,
        }
    })
}
