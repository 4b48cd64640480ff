//! `tollgate keygen` and `tollgate verify`: a signing key pair written to files, and an
//! artifact checked against its digest, signature and subject.

use super::args::KeyArgs;
use crate::artifacts::ArtifactConfig;
use crate::error::{Error, ExitCode, Result};
use crate::runner;
use clap::Args;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Flags of `tollgate verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A file (its envelope is FILE.dsse.json unless --envelope says otherwise), or a name or
    /// `sha256:HEX` in the artifact store.
    pub(crate) artifact: String,
    /// The DSSE envelope of a file artifact.
    #[arg(long)]
    pub(crate) envelope: Option<PathBuf>,
    /// Artifact store and keys.
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    /// Require this subject name.
    #[arg(long = "expect-subject", value_name = "NAME")]
    pub(crate) expect_subject: Option<String>,
    /// Print a JSON report.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(super) fn keygen(prefix: &Path) -> Result<ExitCode> {
    let signer = tollgate_attest::Signer::generate().map_err(|e| Error::Runtime(e.to_string()))?;
    let key_path = prefix.with_extension("key");
    let pub_path = prefix.with_extension("pub");
    for path in [&key_path, &pub_path] {
        if path.exists() {
            return Err(Error::invalid(
                "--out",
                path.display().to_string(),
                "exists; remove it or pick another --out",
            ));
        }
    }
    write_private(&key_path, &signer.to_pem())?;
    std::fs::write(&pub_path, signer.public().to_pem()).map_err(|e| Error::io(&pub_path, e))?;
    runner::print_text(&format!(
        "wrote {} (secret) and {}\nkey id: {}\nstore the private key as the secret TOLLGATE_SIGNING_KEY; \
         give verifiers the public key (--public-key or TOLLGATE_PUBLIC_KEY)",
        key_path.display(),
        pub_path.display(),
        signer.keyid()
    ));
    Ok(ExitCode::Success)
}

fn write_private(path: &Path, pem: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(pem.as_bytes()).map_err(|e| Error::io(path, e))
}

pub(super) fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let config = ArtifactConfig::new(&args.keys.options()?)?;
    let mut policy = config.policy.clone();
    policy.expect_subject = args.expect_subject.clone();
    let file = Path::new(&args.artifact);
    let result = if file.is_file() {
        let envelope_path = args.envelope.clone().unwrap_or_else(|| {
            let mut p = file.as_os_str().to_owned();
            p.push(".dsse.json");
            PathBuf::from(p)
        });
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let envelope = std::fs::read(&envelope_path).map_err(|e| Error::io(&envelope_path, e))?;
        tollgate_attest::verify(&bytes, &envelope, &policy).map(|v| (v.subject, v.digest, v.keyid, v.statement))
    } else {
        config
            .store
            .get(&args.artifact, &policy)
            .map(|a| (a.name, a.digest, a.signed_by, a.statement))
    };
    match result {
        Ok((subject, digest, keyid, statement)) => {
            if args.json {
                runner::print_json(
                    &serde_json::json!({"verified": true, "subject": subject, "digest": digest, "keyid": keyid, "statement": statement}),
                );
            } else {
                let predicate = &statement["predicate"];
                let field = |v: &Value| v.as_str().unwrap_or("?").to_string();
                let signer = match keyid {
                    Some(k) => format!("signed by {k}"),
                    None => "UNSIGNED (accepted because of --allow-unsigned)".into(),
                };
                runner::print_text(&format!(
                    "verified {subject} {digest}\n  {signer}\n  produced by {} {} ({}), outcome {}",
                    field(&predicate["plugin"]["name"]),
                    field(&predicate["plugin"]["version"]),
                    field(&predicate["plugin"]["digest"]),
                    field(&predicate["outcome"]),
                ));
            }
            Ok(ExitCode::Success)
        }
        Err(e) => {
            if args.json {
                runner::print_json(&serde_json::json!({"verified": false, "error": e.to_string()}));
            }
            runner::print_error(&format!("verification failed: {e}"));
            Ok(ExitCode::Failure)
        }
    }
}
