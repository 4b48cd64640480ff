//! Behaviour of the artifact store, DSSE envelopes and verification as a producing or consuming step sees it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tollgate_attest::{
    Envelope, Error, PAYLOAD_TYPE, PluginRef, Policy, Predicate, PublicKey, RunContext, Signer, Store, pae, redact,
    rfc3339, verify,
};

/// Made with `openssl genpkey -algorithm ed25519` (OpenSSL 3.0).
const OPENSSL_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEICSs/J9NqZlVGRe0+raQ/FsTs7tZpNE5Rn+1Di+TEjAd
-----END PRIVATE KEY-----
";
/// `openssl pkey -pubout` of the key above.
const OPENSSL_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAngM+WcjoXJtnhIF5x0YS56awYPKOpRrsIjO1EXbGnMg=
-----END PUBLIC KEY-----
";
/// `openssl pkey -pubout -outform DER | tail -c 32 | sha256sum`.
const OPENSSL_KEYID: &str = "sha256:55eed74d252d07177675ad02d11a794b837c64d65f1328a51177b45a806013c7";
/// `openssl pkeyutl -sign -rawin` of the DSSE spec's PAE example with the key above, base64.
const OPENSSL_SIG: &str = "iky5vGXpYQPV2bsDBFHkCWbgj3+7KujGoPhtd+LGx7uDPsru8nTpJRnBp4JffjlfalIv44vkpBCAHraSu1ogBw==";

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "tollgate-attest-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn predicate() -> Predicate {
    let inputs: Map<String, Value> = json!({"region": "us-east-1", "token": "s3cr3t-value"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    Predicate {
        plugin: PluginRef {
            name: "terraform-plan".into(),
            version: "1.2.0".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
        },
        inputs: redact(&inputs, &["s3cr3t-value".to_owned()]),
        grants: json!({"net": ["https://example.com"]}),
        context: RunContext {
            repository: Some("acme/infra".into()),
            sha: Some("0123abcd".into()),
            git_ref: Some("refs/heads/main".into()),
            run_id: Some("42".into()),
            workflow: None,
        },
        started_at: rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        finished_at: rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_060)),
        outcome: "success".into(),
    }
}

/// A store holding one signed artifact `name`.
fn signed_store(name: &str, data: &[u8]) -> (TempDir, Store, Signer) {
    let dir = TempDir::new();
    let store = Store::open(dir.path().join("artifacts")).expect("open");
    let signer = Signer::from_pem(OPENSSL_PRIVATE).expect("key");
    store
        .put(name, "application/octet-stream", data, &predicate(), Some(&signer))
        .expect("put");
    (dir, store, signer)
}

#[test]
fn pae_matches_the_dsse_spec_example() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    // LEN counts bytes, not characters.
    assert_eq!(pae("t", "é".as_bytes()), "DSSEv1 1 t 2 é".as_bytes().to_vec());
}

#[test]
fn openssl_keys_parse_and_sign_identically() {
    let signer = Signer::from_pem(OPENSSL_PRIVATE).expect("openssl private key parses");
    let public = PublicKey::from_pem(OPENSSL_PUBLIC).expect("openssl public key parses");
    assert_eq!(signer.public(), public);
    assert_eq!(public.keyid(), OPENSSL_KEYID);
    // Our PEM output is byte for byte OpenSSL's.
    assert_eq!(signer.to_pem(), OPENSSL_PRIVATE);
    assert_eq!(public.to_pem(), OPENSSL_PUBLIC);
    // Ed25519 is deterministic: the same key signs the same PAE exactly as OpenSSL did.
    let envelope = Envelope::seal("http://example.com/HelloWorld", b"hello world", Some(&signer));
    assert_eq!(envelope.signatures[0].sig, OPENSSL_SIG);
    assert_eq!(envelope.signatures[0].keyid, OPENSSL_KEYID);
}

#[test]
fn generated_keys_round_trip_through_pem() {
    let signer = Signer::generate().expect("generate");
    let again = Signer::from_pem(&signer.to_pem()).expect("own private PEM parses");
    assert_eq!(again.public(), signer.public());
    let public = PublicKey::from_pem(&signer.public().to_pem()).expect("own public PEM parses");
    assert_eq!(public.keyid(), signer.keyid());
    assert_ne!(Signer::generate().expect("generate").keyid(), signer.keyid());

    let err = Signer::from_pem(OPENSSL_PUBLIC).expect_err("a public key is not a private key");
    assert!(err.to_string().contains("BEGIN PRIVATE KEY"), "{err}");
    let err = PublicKey::from_pem("not a key").expect_err("garbage");
    assert!(err.to_string().contains("BEGIN PUBLIC KEY"), "{err}");
    // The private key never shows in debug output.
    assert!(!format!("{signer:?}").contains(&signer.to_pem()[28..60]));
}

#[test]
fn signed_artifact_round_trips() {
    let (_dir, store, signer) = signed_store("us-east/tfplan", b"plan bytes");
    let artifact = store
        .get("us-east/tfplan", &Policy::trusting(vec![signer.public()]))
        .expect("verifies");
    assert_eq!(artifact.name, "us-east/tfplan");
    assert_eq!(artifact.data, b"plan bytes");
    assert_eq!(artifact.media_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(artifact.signed_by.as_deref(), Some(OPENSSL_KEYID));
    assert_eq!(artifact.statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        artifact.statement["predicateType"],
        "https://tollgate.dev/attestation/step/v1"
    );
    assert_eq!(
        artifact.statement["subject"][0]["digest"]["sha256"],
        artifact.digest["sha256:".len()..]
    );
    let predicate: Predicate = serde_json::from_value(artifact.statement["predicate"].clone()).expect("predicate");
    assert_eq!(predicate, self::predicate());
    assert_eq!(predicate.inputs["token"], "***");
    assert_eq!(predicate.started_at, "2023-11-14T22:13:20Z");

    // The files are where the layout says, and the envelope is a DSSE envelope.
    let hex = &artifact.digest["sha256:".len()..];
    assert_eq!(
        fs::read(store.dir().join("objects/sha256").join(hex)).expect("object"),
        b"plan bytes"
    );
    let envelope: Value =
        serde_json::from_slice(&fs::read(store.dir().join("us-east/tfplan.dsse.json")).expect("envelope"))
            .expect("json");
    assert_eq!(envelope["payloadType"], PAYLOAD_TYPE);
    assert_eq!(envelope["signatures"][0]["keyid"], OPENSSL_KEYID);
    assert_eq!(
        store.list().expect("list"),
        vec![("us-east/tfplan".to_owned(), artifact.digest.clone())]
    );
}

#[test]
fn every_flip_of_the_artifact_bytes_is_rejected() {
    let data = b"tiny artifact!";
    let (_dir, store, signer) = signed_store("plan", data);
    let envelope = fs::read(store.envelope_path("plan").expect("path")).expect("envelope");
    let policy = Policy::trusting(vec![signer.public()]);
    verify(data, &envelope, &policy).expect("intact artifact verifies");
    for position in 0..data.len() {
        for mask in [0x01, 0x80] {
            let mut flipped = data.to_vec();
            flipped[position] ^= mask;
            match verify(&flipped, &envelope, &policy) {
                Err(Error::DigestMismatch { .. }) => {}
                other => panic!("flip {mask:#x} at {position}: {other:?}"),
            }
        }
    }
    // Through the store too: a tampered object is refused with both digests named.
    let hex = store.list().expect("list")[0].1["sha256:".len()..].to_owned();
    fs::write(store.dir().join("objects/sha256").join(&hex), b"tiny artifact?").expect("tamper");
    let err = store.get("plan", &policy).expect_err("tampered");
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains(&hex), "{err}");
}

#[test]
fn every_flip_of_the_envelope_file_is_rejected() {
    let data = b"x";
    let (_dir, store, signer) = signed_store("a", data);
    let envelope = fs::read(store.envelope_path("a").expect("path")).expect("envelope");
    let policy = Policy::trusting(vec![signer.public()]);
    verify(data, &envelope, &policy).expect("intact envelope verifies");
    for position in 0..envelope.len() {
        for mask in [0x01, 0x20, 0x80] {
            let mut flipped = envelope.clone();
            flipped[position] ^= mask;
            if let Ok(verified) = verify(data, &flipped, &policy) {
                panic!("flip {mask:#x} at {position} verified: {verified:?}");
            }
        }
    }
}

#[test]
fn every_flip_of_the_statement_is_rejected() {
    let data = b"x";
    let (_dir, store, signer) = signed_store("a", data);
    let envelope = Envelope::parse(&fs::read(store.envelope_path("a").expect("path")).expect("read")).expect("parse");
    let statement = STANDARD.decode(&envelope.payload).expect("base64");
    let policy = Policy::trusting(vec![signer.public()]);
    for position in 0..statement.len() {
        let mut flipped = statement.clone();
        flipped[position] ^= 0x01;
        let mut forged = envelope.clone();
        forged.payload = STANDARD.encode(&flipped);
        let json = serde_json::to_vec(&forged).expect("json");
        match verify(data, &json, &policy) {
            Err(Error::SignatureInvalid { keyid }) => assert_eq!(keyid, OPENSSL_KEYID),
            other => panic!("flip at {position}: {other:?}"),
        }
    }
}

#[test]
fn an_envelope_for_another_subject_is_rejected() {
    let (_dir, store, signer) = signed_store("staging/tfplan", b"plan");
    let policy = Policy::trusting(vec![signer.public()]);
    // A valid, signed envelope copied under another name.
    let target = store.envelope_path("prod/tfplan").expect("path");
    fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
    fs::copy(store.envelope_path("staging/tfplan").expect("path"), &target).expect("copy");
    let err = store.get("prod/tfplan", &policy).expect_err("renamed envelope");
    assert!(matches!(err, Error::SubjectMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("`prod/tfplan`") && message.contains("`staging/tfplan`"),
        "{message}"
    );

    let envelope = fs::read(store.envelope_path("staging/tfplan").expect("path")).expect("read");
    let policy = Policy {
        expect_subject: Some("other".into()),
        ..policy
    };
    let err = verify(b"plan", &envelope, &policy).expect_err("other subject");
    assert!(matches!(err, Error::SubjectMismatch { .. }), "{err:?}");
}

#[test]
fn a_key_that_is_not_trusted_is_rejected_naming_both_keyids() {
    let (_dir, store, signer) = signed_store("a", b"data");
    let other = Signer::generate().expect("generate");
    let err = store
        .get("a", &Policy::trusting(vec![other.public()]))
        .expect_err("untrusted signer");
    assert!(matches!(err, Error::NoTrustedKey { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&signer.keyid()) && message.contains(&other.keyid()),
        "{message}"
    );

    // A signature without key id is tried against every trusted key.
    let path = store.envelope_path("a").expect("path");
    let mut envelope = Envelope::parse(&fs::read(&path).expect("read")).expect("parse");
    envelope.signatures[0].keyid.clear();
    fs::write(&path, serde_json::to_vec(&envelope).expect("json")).expect("write");
    let artifact = store
        .get("a", &Policy::trusting(vec![other.public(), signer.public()]))
        .expect("fallback");
    assert_eq!(artifact.signed_by, Some(signer.keyid()));
    let err = store
        .get("a", &Policy::trusting(vec![other.public()]))
        .expect_err("no trusted key signed it");
    assert!(matches!(err, Error::SignatureInvalid { .. }), "{err:?}");
}

#[test]
fn unsigned_artifacts_are_refused_unless_allowed() {
    let dir = TempDir::new();
    let store = Store::open(dir.path()).expect("open");
    let stored = store
        .put("report", "text/markdown", b"# ok", &predicate(), None)
        .expect("put");
    assert!(!stored.signed);
    let envelope: Value = serde_json::from_slice(&fs::read(&stored.envelope_path).expect("read")).expect("json");
    assert_eq!(envelope["signatures"], json!([]));

    let trusted = Signer::generate().expect("generate").public();
    let err = store
        .get("report", &Policy::trusting(vec![trusted]))
        .expect_err("unsigned");
    assert!(matches!(err, Error::Unsigned), "{err:?}");
    assert!(err.to_string().contains("TOLLGATE_SIGNING_KEY"), "{err}");

    let allow = Policy {
        trusted: vec![trusted],
        allow_unsigned: true,
        expect_subject: None,
    };
    let artifact = store.get("report", &allow).expect("allowed");
    assert_eq!((artifact.data.as_slice(), artifact.signed_by), (&b"# ok"[..], None));
    assert_eq!(artifact.media_type.as_deref(), Some("text/markdown"));

    // Stripping the signatures off a signed envelope makes it unsigned, not trusted.
    let (_dir, store, signer) = signed_store("a", b"data");
    let path = store.envelope_path("a").expect("path");
    let mut envelope = Envelope::parse(&fs::read(&path).expect("read")).expect("parse");
    envelope.signatures.clear();
    fs::write(&path, serde_json::to_vec(&envelope).expect("json")).expect("write");
    let err = store
        .get("a", &Policy::trusting(vec![signer.public()]))
        .expect_err("stripped");
    assert!(matches!(err, Error::Unsigned), "{err:?}");
}

#[test]
fn a_foreign_payload_type_is_rejected() {
    let signer = Signer::generate().expect("generate");
    let envelope = Envelope::seal("text/plain", b"{}", Some(&signer));
    let err = verify(
        b"",
        &serde_json::to_vec(&envelope).expect("json"),
        &Policy::trusting(vec![signer.public()]),
    )
    .expect_err("payload type");
    assert!(matches!(err, Error::PayloadType { .. }), "{err:?}");
    assert!(err.to_string().contains("application/vnd.in-toto+json"), "{err}");
}

#[test]
fn artifacts_are_found_by_digest() {
    let (_dir, store, signer) = signed_store("one", b"first");
    let second = store
        .put("nested/two", "text/plain", b"second", &predicate(), Some(&signer))
        .expect("put");
    let policy = Policy::trusting(vec![signer.public()]);
    let artifact = store.get(&second.digest, &policy).expect("by digest");
    assert_eq!(
        (artifact.name.as_str(), artifact.data.as_slice()),
        ("nested/two", &b"second"[..])
    );

    let missing = format!("sha256:{}", "0".repeat(64));
    let err = store.get(&missing, &policy).expect_err("unknown digest");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("one (sha256:") && message.contains("nested/two (sha256:"),
        "{message}"
    );
    assert!(matches!(
        store.get("sha256:zz", &policy),
        Err(Error::InvalidName { .. })
    ));

    let err = store.get("three", &policy).expect_err("unknown name");
    assert!(
        matches!(err, Error::NotFound { .. }) && err.to_string().contains("nested/two"),
        "{err}"
    );

    fs::remove_file(&second.object_path).expect("remove object");
    assert!(matches!(
        store.get("nested/two", &policy),
        Err(Error::MissingObject { .. })
    ));
}

#[test]
fn names_are_validated() {
    let (_dir, store, signer) = signed_store("ok", b"data");
    for bad in [
        "",
        "/etc/passwd",
        "../escape",
        "a/../../b",
        "a//b",
        "a/",
        "./a",
        "plan.dsse.json",
        "x.dsse.json/y",
        "objects/sha256/x",
        "a\\b",
        "a\nb",
    ] {
        let err = store
            .put(bad, "text/plain", b"x", &predicate(), Some(&signer))
            .expect_err(bad);
        assert!(matches!(err, Error::InvalidName { .. }), "{bad:?}: {err:?}");
        assert!(
            matches!(store.get(bad, &Policy::default()), Err(Error::InvalidName { .. })),
            "{bad:?}"
        );
    }
    for good in ["tfplan", "us-east/tfplan", "plan.json", "a.b/c-d_e"] {
        store
            .put(good, "text/plain", good.as_bytes(), &predicate(), Some(&signer))
            .expect(good);
    }
    let names: Vec<String> = store.list().expect("list").into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["a.b/c-d_e", "ok", "plan.json", "tfplan", "us-east/tfplan"]);
    assert!(!store.dir().join("..").join("escape.dsse.json").exists());
}

#[test]
fn redact_replaces_strings_containing_secrets_at_any_depth() {
    let inputs = json!({
        "url": "https://user:hunter2@example.com",
        "nested": {"list": ["plain", "Bearer hunter2", 7], "flag": true},
        "other": "fine",
    });
    let redacted = redact(
        inputs.as_object().expect("object"),
        &["hunter2".to_owned(), String::new()],
    );
    assert_eq!(
        Value::Object(redacted),
        json!({"url": "***", "nested": {"list": ["plain", "***", 7], "flag": true}, "other": "fine"})
    );
}
