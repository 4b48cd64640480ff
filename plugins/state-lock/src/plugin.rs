//! The host-facing layer: `describe`, and `run`, which picks the backend and the operation
//! from the inputs and turns the outcome into a status, outputs and a summary.

use crate::backend::aws::{self, ACCESS_KEY_SECRET, Client, SECRET_KEY_SECRET, SESSION_TOKEN_SECRET};
use crate::backend::dynamodb::DynamoBackend;
use crate::backend::file::FileBackend;
use crate::backend::github::GithubBackend;
use crate::backend::s3::S3Backend;
use crate::backend::{Backend, BackendError, check_key};
use crate::lease::{Judge, Lease, Record, now_ms, rfc3339};
use crate::ops::{Held, Lock, LockError, Wait};
use tollgate_sdk::files::run_link;
use tollgate_sdk::{
    Capability, Duration, GithubPermission, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext,
    TypedInputs, TypedOutputs, invalid_input, request,
};

/// The plugin.
pub struct StateLock;

/// The step's inputs.
#[derive(Debug, Clone, tollgate_sdk::Inputs)]
pub struct StepInputs {
    /// What to do: `acquire`, `release`, `renew`, `status` or `force-release`.
    #[input(required)]
    pub operation: String,
    /// The lock's name, e.g. `openclaw/us-east`: letters, digits, `.`, `_`, `-` in
    /// `/`-separated segments. The same key is the same lock on every run.
    #[input(required)]
    pub key: String,
    /// Where the lock lives: `github` (a ref in this repository; grant `contents:write`),
    /// `dynamodb` (an item in `table`), `s3` (an object in `bucket`), or `file` (a directory,
    /// for local and `act` runs; give `path`). `dynamodb` and `s3` sign with the secrets
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) and reach
    /// `endpoint` (granted by writing it) or AWS's default one (granted with `allow-net`).
    #[input(default = "github")]
    pub backend: String,
    /// The `file` backend's directory: an absolute path granted with `allow-write`.
    pub path: Option<String>,
    /// The `dynamodb` backend's table (hash key `LockID`, a string: terraform's lock table
    /// works). The lock is the item `tollgate:state-lock/<key>`.
    pub table: Option<String>,
    /// The `s3` backend's bucket. The lock is the object `<prefix>/<key>.tollgate-lock`.
    pub bucket: Option<String>,
    /// The `s3` backend's folder for lock objects, e.g. `locks` (default: the bucket's root).
    pub prefix: Option<String>,
    /// The AWS region of `table` or `bucket`.
    #[input(default = "us-east-1")]
    pub region: String,
    /// The `dynamodb` or `s3` endpoint, e.g. `http://127.0.0.1:4566` (then S3 is addressed
    /// path-style). An endpoint written here is granted as you wrote it. Default: AWS's
    /// regional one, `https://dynamodb.<region>.amazonaws.com` or
    /// `https://<bucket>.s3.<region>.amazonaws.com`, which must be granted (`allow-net`).
    #[input(grants_origins)]
    pub endpoint: Option<String>,
    /// How long a lease lasts without renewal; a holder that dies is taken over after it.
    #[input(default = "1h")]
    pub ttl: Duration,
    /// `acquire`: how long to wait for a held lock (`0s` fails at once).
    #[input(default = "0s")]
    pub wait: Duration,
    /// `acquire`: how often a waiting acquire looks again.
    #[input(default = "5s")]
    pub poll: Duration,
    /// `release`, `renew`: the lease token `acquire` gave (its `token` output), or
    /// `artifact:NAME` for the artifact `token-artifact` stored (a later job's release).
    pub token: Option<String>,
    /// `acquire`: also store the lease token as a signed artifact with this name, so a later
    /// job that downloads the artifact store can release or renew with `token: artifact:NAME`.
    pub token_artifact: Option<String>,
    /// Who holds the lease, for people; defaults to the repository, run and pull request.
    pub holder: Option<String>,
    /// `force-release`: why (recorded and logged with the previous holder).
    pub reason: Option<String>,
    /// For backends without a clock of their own (`github`, `dynamodb`): the largest difference assumed
    /// between two runners' clocks. A lease is taken over once its holder's expiry time is
    /// this far past, or once this run has watched it unchanged for its whole TTL.
    #[input(default = "10m")]
    pub max_clock_skew: Duration,
}

/// The step's outputs.
#[derive(Debug, Clone, Default, tollgate_sdk::Outputs)]
pub struct StepOutputs {
    /// The lease token (`acquire`, `renew`): pass it to `release`. Treat it as a secret.
    pub token: Option<String>,
    /// Whether the lock is held after this step (by anyone).
    pub held: bool,
    /// Who holds it, when held.
    pub holder: Option<String>,
    /// When the current lease ends (RFC 3339, the holder's clock), when held.
    pub expires_at: Option<String>,
    /// The holder this step displaced: an expired lease taken over, or a force-release.
    pub previous_holder: Option<String>,
}

const OPERATIONS: &str = "`acquire`, `release`, `renew`, `status` or `force-release`";

impl Plugin for StateLock {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "state-lock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "A named lease lock held across steps and jobs (plan to apply) that never double-grants".into(),
            inputs: StepInputs::specs(),
            outputs: StepOutputs::specs(),
            capabilities: vec![
                request(
                    Capability::Github(GithubPermission::ContentsWrite),
                    "the github backend keeps the lock in the ref refs/tollgate/locks/<key>",
                )
                .optional(),
                request(
                    Capability::Write,
                    "the file backend keeps the lock in a directory under `path`",
                )
                .optional(),
                request(
                    Capability::Net("https://*:*".into()),
                    "the dynamodb and s3 backends call AWS at `endpoint` (default: the region's endpoint)",
                )
                .optional(),
                request(
                    Capability::Net("http://*:*".into()),
                    "the dynamodb and s3 backends call a plain-http `endpoint` (e.g. a local emulator)",
                )
                .optional(),
                request(
                    Capability::Secret(ACCESS_KEY_SECRET.into()),
                    "the dynamodb and s3 backends sign their requests with this access key",
                )
                .optional(),
                request(
                    Capability::Secret(SECRET_KEY_SECRET.into()),
                    "the dynamodb and s3 backends sign their requests with this secret key",
                )
                .optional(),
                request(
                    Capability::Secret(SESSION_TOKEN_SECRET.into()),
                    "the dynamodb and s3 backends send it with temporary credentials",
                )
                .optional(),
            ],
        }
    }

    fn run(inputs: Inputs, context: StepContext) -> Result<RunReport, PluginError> {
        run(&StepInputs::from_inputs(&inputs)?, &context)
    }
}

fn run(config: &StepInputs, context: &StepContext) -> Result<RunReport, PluginError> {
    check_key(&config.key).map_err(|e| invalid_input("key", e))?;
    let operation = config.operation.trim();
    if !["acquire", "release", "renew", "status", "force-release"].contains(&operation) {
        return Err(invalid_input(
            "operation",
            format!("`{operation}` is not an operation: write {OPERATIONS}"),
        ));
    }
    // Everything the operation needs is checked before any backend is touched.
    let token = match operation {
        "release" | "renew" => Some(need_token(config)?),
        _ => None,
    };
    if operation == "force-release" {
        need_reason(config)?;
    }
    let token = token.as_deref();
    let judge = Judge {
        max_skew: *config.max_clock_skew,
    };
    match config.backend.trim() {
        "github" => operate(
            &mut GithubBackend::new(&config.key),
            operation,
            token,
            config,
            context,
            judge,
        ),
        "file" => {
            let Some(path) = config.path.as_deref().map(str::trim).filter(|p| p.starts_with('/')) else {
                return Err(invalid_input(
                    "path",
                    "the file backend needs `path`: an absolute directory granted with `allow-write`",
                ));
            };
            let mut backend = FileBackend::new(std::path::Path::new(path), &config.key).map_err(backend_error)?;
            operate(&mut backend, operation, token, config, context, judge)
        }
        "dynamodb" => {
            let table = need_name(config.table.as_deref(), "table", "the dynamodb backend", check_table)?;
            let region = check_region(&config.region)?;
            let endpoint = endpoint(config, || format!("https://dynamodb.{region}.amazonaws.com"))?;
            let creds = aws::credentials("dynamodb").map_err(backend_error)?;
            let client = Client::new("dynamodb", "dynamodb", region, &endpoint, creds)
                .map_err(|e| invalid_input("endpoint", e))?;
            let mut backend = DynamoBackend::new(client, table, &config.key);
            operate(&mut backend, operation, token, config, context, judge)
        }
        "s3" => {
            let bucket = need_name(config.bucket.as_deref(), "bucket", "the s3 backend", check_bucket)?;
            let region = check_region(&config.region)?;
            let prefix = config
                .prefix
                .as_deref()
                .map(|p| p.trim().trim_matches('/'))
                .unwrap_or("");
            if !prefix.is_empty() {
                check_key(prefix).map_err(|e| invalid_input("prefix", e.replace("a key", "a prefix")))?;
            }
            // AWS's own endpoint names the bucket in the host; any other gets it in the path.
            let path_style = config.endpoint.as_deref().is_some_and(|e| !e.trim().is_empty());
            let endpoint = endpoint(config, || format!("https://{bucket}.s3.{region}.amazonaws.com"))?;
            let creds = aws::credentials("s3").map_err(backend_error)?;
            let client = Client::new("s3", "s3", region, &endpoint, creds).map_err(|e| invalid_input("endpoint", e))?;
            let mut backend = S3Backend::new(client, bucket, prefix, &config.key, path_style);
            operate(&mut backend, operation, token, config, context, judge)
        }
        other => Err(invalid_input(
            "backend",
            format!("`{other}` is not a lock backend: write `github`, `file`, `dynamodb` or `s3`"),
        )),
    }
}

/// A required name for one backend, checked.
fn need_name<'a>(
    value: Option<&'a str>,
    input: &str,
    backend: &str,
    check: fn(&str) -> Result<(), String>,
) -> Result<&'a str, PluginError> {
    let value = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid_input(input, format!("{backend} needs `{input}`")))?;
    check(value).map_err(|e| invalid_input(input, e))?;
    Ok(value)
}

/// A DynamoDB table name: 3 to 255 of `[A-Za-z0-9_.-]`.
fn check_table(name: &str) -> Result<(), String> {
    let ok = (3..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a DynamoDB table name (3 to 255 letters, digits, `_`, `.`, `-`)"
        ))
    }
}

/// An S3 bucket name: 3 to 63 of `[a-z0-9.-]`, starting and ending with a letter or digit.
fn check_bucket(name: &str) -> Result<(), String> {
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-".contains(&b))
        && edge(name.as_bytes().first())
        && edge(name.as_bytes().last());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an S3 bucket name (3 to 63 lower-case letters, digits, `.` and `-`)"
        ))
    }
}

/// An AWS region, e.g. `us-east-1`: it goes into host names and signatures.
fn check_region(region: &str) -> Result<&str, PluginError> {
    let region = region.trim();
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(region)
    } else {
        Err(invalid_input(
            "region",
            format!("`{region}` is not an AWS region (e.g. `us-east-1`)"),
        ))
    }
}

/// `endpoint`, or AWS's default for the backend.
fn endpoint(config: &StepInputs, default: impl FnOnce() -> String) -> Result<String, PluginError> {
    match config.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => {
            tollgate_sdk::http::origin_of(e).map_err(|err| invalid_input("endpoint", err.to_string()))?;
            Ok(e.to_string())
        }
        None => Ok(default()),
    }
}

/// Who this run is, for the lease record.
fn me(config: &StepInputs, context: &StepContext, token: String) -> Lease {
    let holder = config
        .holder
        .clone()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| match (&context.repository, &context.run_id) {
            (Some(repo), Some(run)) => format!("{repo} run {run}"),
            _ => format!("a local run (step {})", context.step_id),
        });
    let now = now_ms();
    Lease {
        holder: holder.chars().take(200).collect(),
        token,
        run: run_link(context),
        pull_request: context.pull_request,
        sha: context.sha.clone(),
        acquired_ms: now,
        renewed_ms: now,
        ttl_ms: config.ttl.as_millis() as u64,
    }
}

fn backend_error(e: BackendError) -> PluginError {
    match e {
        BackendError::Denied(m) => PluginError::Denied(m),
        BackendError::Foreign(m) | BackendError::Unavailable(m) => PluginError::Peer(m),
    }
}

fn need_token(config: &StepInputs) -> Result<String, PluginError> {
    let token = config
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            invalid_input(
                "token",
                "give the lease token `acquire` returned: `token: ${{ steps.<acquire step>.outputs.token }}`, or \
                 `artifact:NAME` for the artifact its `token-artifact` stored",
            )
        })?;
    if token.starts_with("artifact:") {
        let (bytes, _) = tollgate_sdk::files::read_input("token", token, 1024, "the lease token artifact")?;
        return String::from_utf8(bytes)
            .map(|t| t.trim().to_string())
            .map_err(|_| invalid_input("token", format!("`{token}` does not hold a lease token")));
    }
    Ok(token.to_string())
}

fn need_reason(config: &StepInputs) -> Result<&str, PluginError> {
    config
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| invalid_input("reason", "force-release needs a `reason`: it is recorded and logged"))
}

impl StepOutputs {
    /// The outputs when someone else holds the lock: who, and until when; never their token.
    fn held_by(holder: &Lease) -> Self {
        StepOutputs {
            held: true,
            holder: Some(holder.holder.clone()),
            expires_at: Some(rfc3339(holder.expires_ms())),
            ..StepOutputs::default()
        }
    }
}

fn held_outputs(held: &Held, previous: Option<&Lease>) -> StepOutputs {
    StepOutputs {
        token: Some(held.lease.token.clone()),
        held: true,
        holder: Some(held.lease.holder.clone()),
        expires_at: Some(rfc3339(held.lease.expires_ms())),
        previous_holder: previous.map(|l| l.holder.clone()),
    }
}

fn operate<B: Backend>(
    backend: &mut B,
    operation: &str,
    token: Option<&str>,
    config: &StepInputs,
    context: &StepContext,
    judge: Judge,
) -> Result<RunReport, PluginError> {
    let token = token.unwrap_or_default();
    let key = &config.key;
    let location = backend.location();
    let by = me(config, context, String::new()).holder;
    let mut lock = Lock::new(backend, judge);
    let (status, message, outputs) = match operation {
        "acquire" => {
            let wait = Wait {
                timeout: *config.wait,
                poll: (*config.poll).max(std::time::Duration::from_millis(10)),
            };
            let mut progress = |holder: &Lease, waited: std::time::Duration| {
                let total = wait.timeout.as_secs_f32().max(0.001);
                tollgate_sdk::log::progress(
                    &format!(
                        "waiting for lock {key} ({}s of {}s): held by {}",
                        waited.as_secs(),
                        wait.timeout.as_secs(),
                        holder.describe()
                    ),
                    Some((waited.as_secs_f32() / total).min(1.0)),
                );
            };
            let token = crate::token();
            // The token is stored before the lock is taken, not after: a run cancelled or killed
            // the moment the lease lands must still leave its release step a token to release with.
            if let Some(name) = config.token_artifact.as_deref().filter(|n| !n.trim().is_empty())
                && let Err(e) = tollgate_sdk::artifacts::put(name, "text/plain", token.as_bytes())
            {
                return Err(PluginError::Peer(format!(
                    "could not store the token of lock {key} as artifact `{name}` ({e:?}), so the lock was not \
                     taken; run the step with an artifact store"
                )));
            }
            match lock.acquire(me(config, context, token), wait, &mut progress) {
                Ok(held) => {
                    if let Some(old) = &held.took_over {
                        tollgate_sdk::warn(&format!(
                            "took over lock {key} from {}: its lease expired without a release",
                            old.describe()
                        ));
                    }
                    let message = format!(
                        "acquired lock {key} ({location}) until {}{}",
                        rfc3339(held.lease.expires_ms()),
                        held.took_over
                            .as_ref()
                            .map(|l| format!("; took it over from {} (lease expired)", l.holder))
                            .unwrap_or_default()
                    );
                    (Status::Passed, message, held_outputs(&held, held.took_over.as_ref()))
                }
                Err(LockError::Held(holder)) => {
                    let message = format!(
                        "lock {key} is held by {}{}",
                        holder.describe(),
                        if wait.timeout.is_zero() {
                            "; give `wait` (e.g. `10m`) to wait for it".to_string()
                        } else {
                            format!(
                                "; still held after waiting {}",
                                humantime::format_duration(wait.timeout)
                            )
                        }
                    );
                    (Status::Failed, message, StepOutputs::held_by(&holder))
                }
                Err(e) => return Err(lock_error(e, key)),
            }
        }
        "release" => match lock.release(token, &by) {
            Ok(lease) => (
                Status::Passed,
                format!(
                    "released lock {key} ({location}), held since {}",
                    rfc3339(lease.acquired_ms)
                ),
                StepOutputs::default(),
            ),
            Err(LockError::NotHolder { holder: None }) => {
                tollgate_sdk::warn(&format!("lock {key} was not held: nothing to release"));
                (
                    Status::Passed,
                    format!("lock {key} was not held (already released)"),
                    StepOutputs::default(),
                )
            }
            Err(LockError::NotHolder { holder: Some(l) }) => not_holder(key, "release", &l),
            Err(e) => return Err(lock_error(e, key)),
        },
        "renew" => match lock.renew(token) {
            Ok(held) => (
                Status::Passed,
                format!("renewed lock {key} until {}", rfc3339(held.lease.expires_ms())),
                held_outputs(&held, None),
            ),
            Err(LockError::NotHolder { holder: Some(l) }) => not_holder(key, "renew", &l),
            Err(e) => return Err(lock_error(e, key)),
        },
        "force-release" => {
            let reason = config
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .ok_or_else(|| invalid_input("reason", "force-release needs a `reason`: it is recorded and logged"))?;
            match lock.force_release(&by, reason) {
                Ok(Some(previous)) => {
                    tollgate_sdk::warn(&format!(
                        "force-released lock {key}, held by {}: {reason}",
                        previous.describe()
                    ));
                    (
                        Status::Passed,
                        format!("force-released lock {key} (was held by {})", previous.holder),
                        StepOutputs {
                            previous_holder: Some(previous.holder),
                            ..StepOutputs::default()
                        },
                    )
                }
                Ok(None) => (
                    Status::Passed,
                    format!("lock {key} was not held: nothing to force-release"),
                    StepOutputs::default(),
                ),
                Err(e) => return Err(lock_error(e, key)),
            }
        }
        _ => match lock.status().map_err(|e| lock_error(e, key))? {
            Some((Record::Held(lease), live)) => (
                Status::Passed,
                format!(
                    "lock {key} is held by {}{}",
                    lease.describe(),
                    if live {
                        ""
                    } else {
                        " (expired: the next acquire takes it over)"
                    }
                ),
                StepOutputs {
                    held: live,
                    ..StepOutputs::held_by(&lease)
                },
            ),
            Some((Record::Free { by, at_ms, forced }, _)) => (
                Status::Passed,
                format!(
                    "lock {key} is free ({} by {by} at {})",
                    if forced.is_some() { "force-released" } else { "released" },
                    rfc3339(at_ms)
                ),
                StepOutputs::default(),
            ),
            None => (
                Status::Passed,
                format!("lock {key} is free (never taken)"),
                StepOutputs::default(),
            ),
        },
    };
    outputs.set_all()?;
    tollgate_sdk::append_summary(&format!(
        "**state-lock** · {}\n",
        tollgate_sdk::markdown::inline(&message)
    ));
    Ok(RunReport { status, message })
}

/// A release or renewal with a token that does not hold the lock: refused, the lock untouched.
fn not_holder(key: &str, operation: &str, holder: &Lease) -> (Status, String, StepOutputs) {
    let message = format!(
        "refused to {operation} lock {key}: this token does not hold it; it is held by {} (if this run held it, \
         its lease expired and was taken over)",
        holder.describe()
    );
    (Status::Failed, message, StepOutputs::held_by(holder))
}

fn lock_error(e: LockError, key: &str) -> PluginError {
    match e {
        LockError::Backend(b) => backend_error(b),
        LockError::Held(l) => PluginError::Peer(format!("lock {key} is held by {}", l.describe())),
        LockError::NotHolder { .. } => PluginError::Peer(format!(
            "this token does not hold lock {key}, which is free (released, or forced free): renew cannot revive it; \
             acquire it again"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        StepInputs::check_defaults().unwrap();
    }
}
