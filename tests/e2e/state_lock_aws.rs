//! `state-lock`'s `dynamodb` and `s3` backends end to end, against moto's server on
//! 127.0.0.1 with signature checking on (`tests/peers/aws/moto_peer.py`): the lifecycle every
//! backend passes, credentials and grants refused clearly, 16 contenders × 200 rounds on each,
//! and real `terraform plan`/`apply` locking the same bucket and table while Tollgate holds
//! its lock there.

use crate::guests::workspace_root;
use crate::state_lock::{Where, lifecycle, lock, lock_cmd, message, out, sixteen_by_two_hundred, ungranted};
use crate::support::{Run, run_cmd, tollgate};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// moto's server with an IAM user whose key signs every request; killed when dropped.
pub(crate) struct Moto {
    /// Killed when this is dropped.
    _child: crate::support::Reaped,
    pub(crate) port: u16,
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) table: String,
    pub(crate) bucket: String,
    _dir: tempfile::TempDir,
}

impl Moto {
    pub(crate) async fn start() -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let ready_file = dir.path().join("ready.json");
        let mut child = Command::new("python3")
            .arg(workspace_root().join("tests/peers/aws/moto_peer.py"))
            .arg("--ready-file")
            .arg(&ready_file)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the moto peer");
        // moto imports slowly (every service's models): a minute covers a busy machine.
        let deadline = Instant::now() + Duration::from_secs(60);
        let ready: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&ready_file) {
                break serde_json::from_str(&text).expect("the ready file is JSON");
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the moto peer exited ({status}): is `moto[server]` installed? (scripts/test installs it)");
            }
            assert!(Instant::now() < deadline, "the moto peer was not ready within 60s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let text = |k: &str| ready[k].as_str().unwrap().to_string();
        Moto {
            _child: crate::support::Reaped(child),
            port: ready["port"].as_u64().unwrap() as u16,
            access_key_id: text("access_key_id"),
            secret_access_key: text("secret_access_key"),
            table: text("table"),
            bucket: text("bucket"),
            _dir: dir,
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The endpoint, its grant, and the credentials as granted secrets.
    pub(crate) fn apply(&self, cmd: &mut tokio::process::Command) {
        cmd.args(["--with", &format!("endpoint={}", self.endpoint())])
            .args(["--allow-net", &self.endpoint()])
            .args(["--secret", "AWS_ACCESS_KEY_ID", "--secret", "AWS_SECRET_ACCESS_KEY"])
            .env("AWS_ACCESS_KEY_ID", &self.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_access_key)
            .env_remove("AWS_SESSION_TOKEN");
    }

    /// Run `code` in Python with boto3 against moto: it finds `client(service, region=…)`,
    /// `table`, `bucket` and `args` (the strings given) defined, and sets `result`, which is
    /// returned as JSON.
    pub(crate) fn boto(&self, code: &str, args: &[&str]) -> Value {
        let prelude = r#"
import boto3, json, sys
endpoint, key, secret, table, bucket = sys.argv[1:6]
args = sys.argv[6:]
def client(service, region="us-east-1"):
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret)
result = None
"#;
        let script = format!("{prelude}{code}\nprint(json.dumps(result, default=str))\n");
        let output = Command::new("python3")
            .args([
                "-c",
                &script,
                &self.endpoint(),
                &self.access_key_id,
                &self.secret_access_key,
            ])
            .args([&self.table, &self.bucket])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "boto3: {code}\n{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Everything in the table and bucket, as `LockID`s and object keys (via boto3).
    pub(crate) fn contents(&self) -> (Vec<String>, Vec<String>) {
        let lists = self.boto(
            r#"
items = client("dynamodb").scan(TableName=table)["Items"]
objects = client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
result = [[i["LockID"]["S"] for i in items], [o["Key"] for o in objects]]
"#,
            &[],
        );
        let list = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        (list(&lists[0]), list(&lists[1]))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dynamodb_backend_grants_refuses_releases_and_forces() {
    let moto = Moto::start().await;
    lifecycle(Where::Dynamodb(&moto)).await;
    let (items, _) = moto.contents();
    assert_eq!(items, ["tollgate:state-lock/openclaw/us-east"], "one item, prefixed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_backend_grants_refuses_releases_and_forces() {
    let moto = Moto::start().await;
    lifecycle(Where::S3(&moto)).await;
    let (_, objects) = moto.contents();
    assert_eq!(objects, ["openclaw/us-east.tollgate-lock"]);
}

/// `tollgate run state-lock` on `at` with `with`, its grants and secrets changed by `edit`.
async fn lock_with(at: &Where<'_>, with: &[(&str, &str)], edit: impl FnOnce(&mut tokio::process::Command)) -> Run {
    let mut cmd = lock_cmd(at, with);
    edit(&mut cmd);
    run_cmd(&mut cmd).await
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_missing_secrets_and_grants_exit_2_naming_the_fix() {
    let moto = Moto::start().await;
    let acquire = [("operation", "acquire"), ("key", "k")];
    for at in [Where::Dynamodb(&moto), Where::S3(&moto)] {
        let backend = at.backend();
        // A wrong secret: AWS (moto) refuses the signature.
        let run = lock_with(&at, &acquire, |c| {
            c.env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
        })
        .await;
        assert_eq!(run.code, 2, "{backend}: {run:#?}");
        assert!(
            run.stdout.contains("refused the credentials (SignatureDoesNotMatch"),
            "{backend}: {run:#?}"
        );
        assert!(!run.stdout.contains("not-the-secret"), "the secret is never shown");
        // An unknown access key.
        let run = lock_with(&at, &acquire, |c| {
            c.env("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000");
        })
        .await;
        assert_eq!(run.code, 2, "{backend}: {run:#?}");
        assert!(run.stdout.contains("refused the credentials"), "{backend}: {run:#?}");

        // The secret key not granted: named with its flag, before any request.
        let mut cmd = ungranted(&[("operation", "acquire"), ("key", "k")]);
        cmd.args(["--with", &format!("backend={backend}")])
            .args(["--with", &format!("table={}", moto.table)])
            .args(["--with", &format!("bucket={}", moto.bucket)])
            .args(["--with", &format!("endpoint={}", moto.endpoint())])
            .args(["--allow-net", &moto.endpoint(), "--secret", "AWS_ACCESS_KEY_ID"])
            .env("AWS_ACCESS_KEY_ID", &moto.access_key_id);
        let run = run_cmd(&mut cmd).await;
        assert_eq!(run.code, 2, "{backend}: {run:#?}");
        assert!(
            run.stdout.contains("--secret AWS_SECRET_ACCESS_KEY"),
            "{backend}: {run:#?}"
        );

        // An endpoint the step writes is granted by writing it (`grants-origins`).
        let mut cmd = ungranted(&[("operation", "status"), ("key", "k")]);
        cmd.args(["--with", &format!("backend={backend}")])
            .args(["--with", &format!("table={}", moto.table)])
            .args(["--with", &format!("bucket={}", moto.bucket)])
            .args(["--with", &format!("endpoint={}", moto.endpoint())])
            .args(["--secret", "AWS_ACCESS_KEY_ID", "--secret", "AWS_SECRET_ACCESS_KEY"])
            .env("AWS_ACCESS_KEY_ID", &moto.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key);
        let run = run_cmd(&mut cmd).await;
        assert_eq!(run.code, 0, "{backend}: {run:#?}");

        // AWS's own endpoint, the default, is not granted: named with its flag, refused
        // before any request leaves.
        let mut cmd = ungranted(&[("operation", "acquire"), ("key", "k")]);
        cmd.args(["--with", &format!("backend={backend}")])
            .args(["--with", &format!("table={}", moto.table)])
            .args(["--with", &format!("bucket={}", moto.bucket)])
            .args(["--secret", "AWS_ACCESS_KEY_ID", "--secret", "AWS_SECRET_ACCESS_KEY"])
            .env("AWS_ACCESS_KEY_ID", &moto.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key);
        let run = run_cmd(&mut cmd).await;
        assert_eq!(run.code, 2, "{backend}: {run:#?}");
        let default = match backend {
            "dynamodb" => "https://dynamodb.us-east-1.amazonaws.com".to_string(),
            _ => format!("https://{}.s3.us-east-1.amazonaws.com", moto.bucket),
        };
        assert!(
            run.stdout.contains(&format!("--allow-net {default}")),
            "{backend}: {run:#?}"
        );
    }
    // A table or bucket that is not given, not a name, or does not exist.
    let cases = [
        ("dynamodb", "table=", "needs `table`", 2),
        ("s3", "bucket=Not_A_Bucket", "not an S3 bucket name", 2),
        ("dynamodb", "table=no-such-table", "no table `no-such-table`", 1),
    ];
    for (backend, with, says, code) in cases {
        let mut cmd = tollgate();
        cmd.args([
            "run",
            "state-lock",
            "--json",
            "--with",
            "operation=status",
            "--with",
            "key=k",
        ])
        .args(["--with", &format!("backend={backend}"), "--with", with]);
        moto.apply(&mut cmd);
        let run = run_cmd(&mut cmd).await;
        assert_eq!(run.code, code, "{with}: {run:#?}");
        assert!(run.stdout.contains(says), "{with}: {run:#?}");
    }
    let (items, objects) = moto.contents();
    assert!(
        items.is_empty() && objects.is_empty(),
        "nothing written: {items:?} {objects:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_contenders_never_hold_the_dynamodb_lock_together() {
    let moto = Moto::start().await;
    sixteen_by_two_hundred(&Where::Dynamodb(&moto), "200ms").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_contenders_never_hold_the_s3_lock_together() {
    let moto = Moto::start().await;
    sixteen_by_two_hundred(&Where::S3(&moto), "200ms").await;
}

/// A terraform root whose S3 backend locks with both `dynamodb_table` and `use_lockfile` in
/// moto's table and bucket, and a CLI config of its own (the machine's is missing).
fn terraform_root(dir: &Path, moto: &Moto) {
    std::fs::write(
        dir.join("main.tf"),
        format!(
            r#"
terraform {{
  backend "s3" {{
    bucket                      = "{bucket}"
    key                         = "seed/us-east.tfstate"
    region                      = "us-east-1"
    dynamodb_table              = "{table}"
    use_lockfile                = true
    endpoints                   = {{ s3 = "{endpoint}", dynamodb = "{endpoint}" }}
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }}
}}

resource "terraform_data" "seed" {{
  input = "us-east"
}}
"#,
            bucket = moto.bucket,
            table = moto.table,
            endpoint = moto.endpoint(),
        ),
    )
    .unwrap();
    std::fs::write(dir.join("terraformrc"), "disable_checkpoint = true\n").unwrap();
}

fn terraform(dir: &Path, moto: &Moto, args: &[&str]) -> std::process::Output {
    let output = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("terraformrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env("AWS_ACCESS_KEY_ID", &moto.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("terraform is on PATH (scripts/test checks)");
    assert!(
        output.status.success(),
        "terraform {args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// terraform's own locks (an item `<bucket>/<key>` in the table, an object `<key>.tflock` in
/// the bucket) and Tollgate's (`tollgate:state-lock/<key>`, `<key>.tollgate-lock`) share the
/// table and bucket: terraform plans and applies while Tollgate holds its lock on both, and
/// Tollgate's lock is untouched by terraform's lock and unlock.
#[tokio::test(flavor = "multi_thread")]
async fn terraform_plans_against_the_same_bucket_and_table_while_tollgate_holds_its_lock() {
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    terraform_root(dir.path(), &moto);
    let key = "seed/us-east";
    let mut tokens = Vec::new();
    for at in [Where::Dynamodb(&moto), Where::S3(&moto)] {
        let held = lock(
            &at,
            &[
                ("operation", "acquire"),
                ("key", key),
                ("holder", "plan to apply"),
                ("ttl", "30m"),
            ],
        )
        .await;
        assert_eq!(held.code, 0, "{held:#?}");
        tokens.push(out(&held, "token"));
    }

    terraform(dir.path(), &moto, &["init", "-input=false", "-no-color"]);
    let plan = terraform(dir.path(), &moto, &["plan", "-input=false", "-no-color", "-out=tfplan"]);
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("1 to add"),
        "{}",
        String::from_utf8_lossy(&plan.stdout)
    );
    // Applying writes the state and its digest: proof terraform used this bucket and table.
    terraform(dir.path(), &moto, &["apply", "-input=false", "-no-color", "tfplan"]);
    let (items, objects) = moto.contents();
    assert!(
        items.contains(&"tollgate:state-lock/seed/us-east".to_string()),
        "{items:?}"
    );
    assert!(
        items.contains(&format!("{}/seed/us-east.tfstate-md5", moto.bucket)),
        "{items:?}"
    );
    assert!(objects.contains(&"seed/us-east.tfstate".to_string()), "{objects:?}");
    assert!(
        objects.contains(&"seed/us-east.tollgate-lock".to_string()),
        "{objects:?}"
    );
    assert!(
        !objects.iter().any(|o| o.ends_with(".tflock"))
            && !items.contains(&format!("{}/seed/us-east.tfstate", moto.bucket)),
        "terraform released its own locks: {items:?} {objects:?}"
    );

    for (at, token) in [Where::Dynamodb(&moto), Where::S3(&moto)].iter().zip(&tokens) {
        let status = lock(at, &[("operation", "status"), ("key", key)]).await;
        assert_eq!(out(&status, "held"), "true", "{}: {status:#?}", at.backend());
        assert_eq!(out(&status, "holder"), "plan to apply");
        let released = lock(at, &[("operation", "release"), ("key", key), ("token", token)]).await;
        assert_eq!(released.code, 0, "{}: {released:#?}", at.backend());
        assert!(message(&released).contains("released lock"), "{released:#?}");
    }
}
