//! Behaviour of the artifact store, DSSE envelopes and verification as a producing or consuming step sees it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
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
    // `printf %s s3cr3t-value | sha256sum`
    assert_eq!(
        predicate.inputs["token"],
        "sha256:1f3fa74b1208842aad0b685f0cd06053a9e84f0eb7f2c1c94c96ea25cb13cd77"
    );
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
            Err(Error::SignatureInvalid { index, keyid }) => assert_eq!((index, keyid.as_str()), (0, OPENSSL_KEYID)),
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
        // The digests of the whole strings (`printf %s 'Bearer hunter2' | sha256sum`).
        json!({"url": "sha256:f841ebf1f8673d6b0c8c6b3217384a874b4358a2ba50064e857284877335dabb",
               "nested": {"list": ["plain", "sha256:c13e77fb8a8c93fb73db8c9b9eb69ef51b0327739600ace6d49708d1af73a532", 7], "flag": true}, "other": "fine"})
    );
}

// Signatures as an attacker sees them: every signature present must verify against a trusted key, a signed envelope
// is never "unsigned", and DSSE's base64 variants are accepted but garbage is not.

fn read_envelope(store: &Store, name: &str) -> Envelope {
    Envelope::parse(&fs::read(store.envelope_path(name).expect("path")).expect("read")).expect("parse")
}

fn to_json(envelope: &Envelope) -> Vec<u8> {
    serde_json::to_vec(envelope).expect("json")
}

/// `sig` with one bit of its first signature byte flipped, re-encoded as valid base64.
fn corrupt(sig: &str) -> String {
    let mut bytes = STANDARD.decode(sig).expect("base64");
    bytes[0] ^= 0x01;
    STANDARD.encode(bytes)
}

/// `attacker`'s genuine signature over the same payload as `envelope`.
fn signature_by(attacker: &Signer, envelope: &Envelope) -> tollgate_attest::Signature {
    let payload = STANDARD.decode(&envelope.payload).expect("base64");
    Envelope::seal(&envelope.payload_type, &payload, Some(attacker)).signatures[0].clone()
}

fn allow_unsigned_without_keys() -> Policy {
    Policy {
        allow_unsigned: true,
        ..Policy::default()
    }
}

#[test]
fn a_corrupted_signature_is_refused_with_allow_unsigned_and_no_key() {
    let (_dir, store, signer) = signed_store("plan", b"plan bytes");
    let genuine = read_envelope(&store, "plan");
    let mut forged = genuine.clone();
    forged.signatures[0].sig = corrupt(&forged.signatures[0].sig);

    // The local-run policy: nothing to check signatures against. The flipped signature is not "unsigned".
    for policy in [allow_unsigned_without_keys(), Policy::default()] {
        let err = verify(b"plan bytes", &to_json(&forged), &policy).expect_err("corrupted signature");
        match &err {
            Error::UnverifiableSignature { keyids } => assert_eq!(keyids, &[OPENSSL_KEYID]),
            other => panic!("{other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("--public-key")
                && message.contains("TOLLGATE_PUBLIC_KEY")
                && message.contains(OPENSSL_KEYID),
            "{message}"
        );
        assert!(message.contains("never accepted as unsigned"), "{message}");
    }
    // The genuine signed envelope cannot be checked without a key either: refused, not downgraded to unsigned.
    let err = store
        .get("plan", &allow_unsigned_without_keys())
        .expect_err("unverifiable");
    assert!(matches!(err, Error::UnverifiableSignature { .. }), "{err:?}");

    // Every bit flip of the `sig` text is refused too, whatever it decodes to.
    let sig = genuine.signatures[0].sig.clone();
    for position in 0..sig.len() {
        for mask in [0x01u8, 0x20, 0x80] {
            let mut bytes = sig.clone().into_bytes();
            bytes[position] ^= mask;
            let mut flipped = genuine.clone();
            flipped.signatures[0].sig = String::from_utf8_lossy(&bytes).into_owned();
            match verify(b"plan bytes", &to_json(&flipped), &allow_unsigned_without_keys()) {
                Err(Error::UnverifiableSignature { .. } | Error::MalformedEnvelope { .. }) => {}
                other => panic!("flip {mask:#x} at {position}: {other:?}"),
            }
        }
    }

    // With the key, the same forgery is named precisely: which signature, which key, what to do.
    let policy = Policy {
        trusted: vec![signer.public()],
        allow_unsigned: true,
        expect_subject: None,
    };
    let err = verify(b"plan bytes", &to_json(&forged), &policy).expect_err("corrupted signature");
    assert!(
        matches!(&err, Error::SignatureInvalid { index: 0, keyid } if keyid == OPENSSL_KEYID),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("`signatures[0]`") && message.contains("not modified") && message.contains("re-sign"),
        "{message}"
    );
}

#[test]
fn a_failing_signature_beside_a_valid_one_is_refused() {
    let (_dir, store, signer) = signed_store("plan", b"plan bytes");
    let genuine = read_envelope(&store, "plan");
    let valid = genuine.signatures[0].clone();
    let mut invalid = valid.clone();
    invalid.sig = corrupt(&invalid.sig);
    let mut keyless_invalid = invalid.clone();
    keyless_invalid.keyid.clear();

    for allow_unsigned in [false, true] {
        let policy = Policy {
            trusted: vec![signer.public()],
            allow_unsigned,
            expect_subject: None,
        };
        for (signatures, failing) in [
            (vec![valid.clone(), invalid.clone()], 1),
            (vec![invalid.clone(), valid.clone()], 0),
            (vec![valid.clone(), keyless_invalid.clone()], 1),
            (vec![valid.clone(), valid.clone(), invalid.clone()], 2),
        ] {
            let mut forged = genuine.clone();
            forged.signatures = signatures;
            let err = verify(b"plan bytes", &to_json(&forged), &policy).expect_err("a failing signature");
            match &err {
                Error::SignatureInvalid { index, .. } => assert_eq!(*index, failing, "{err}"),
                other => panic!("{other:?}"),
            }
            assert!(err.to_string().contains(&format!("`signatures[{failing}]`")), "{err}");
        }

        // A signature that is not even base64 beside a valid one: malformed, naming the signature.
        let mut forged = genuine.clone();
        forged.signatures.push(tollgate_attest::Signature {
            keyid: OPENSSL_KEYID.to_owned(),
            sig: "not*base64!".to_owned(),
        });
        let err = verify(b"plan bytes", &to_json(&forged), &policy).expect_err("garbage signature");
        assert!(matches!(err, Error::MalformedEnvelope { .. }), "{err:?}");
        assert!(
            err.to_string().contains("`signatures[1]`") && err.to_string().contains(OPENSSL_KEYID),
            "{err}"
        );
    }

    // Through the store as well.
    let mut forged = genuine.clone();
    forged.signatures.push(invalid);
    fs::write(store.envelope_path("plan").expect("path"), to_json(&forged)).expect("write");
    let err = store
        .get("plan", &Policy::trusting(vec![signer.public()]))
        .expect_err("tampered envelope");
    assert!(matches!(err, Error::SignatureInvalid { index: 1, .. }), "{err:?}");
}

#[test]
fn a_signature_by_an_untrusted_key_beside_a_trusted_one_is_refused() {
    let (_dir, store, signer) = signed_store("plan", b"plan bytes");
    let genuine = read_envelope(&store, "plan");
    let attacker = Signer::generate().expect("generate");
    // A perfectly valid signature, but by a key nobody trusts.
    let extra = signature_by(&attacker, &genuine);

    for allow_unsigned in [false, true] {
        let policy = Policy {
            trusted: vec![signer.public()],
            allow_unsigned,
            expect_subject: None,
        };
        let mut forged = genuine.clone();
        forged.signatures.push(extra.clone());
        let err = verify(b"plan bytes", &to_json(&forged), &policy).expect_err("untrusted co-signature");
        match &err {
            Error::UnknownSigner { index, keyid, trusted } => {
                assert_eq!((*index, keyid.as_str()), (1, attacker.keyid().as_str()));
                assert_eq!(trusted, &[OPENSSL_KEYID]);
            }
            other => panic!("{other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains(&format!("signed by an unknown key `{}`", attacker.keyid()))
                && message.contains("`signatures[1]`")
                && message.contains("--public-key"),
            "{message}"
        );

        // In front of the valid one too.
        forged.signatures.reverse();
        let err = verify(b"plan bytes", &to_json(&forged), &policy).expect_err("untrusted co-signature");
        assert!(matches!(err, Error::UnknownSigner { index: 0, .. }), "{err:?}");

        // Without a key id it is tried against every trusted key, and fails.
        let mut keyless = extra.clone();
        keyless.keyid.clear();
        let mut forged = genuine.clone();
        forged.signatures.push(keyless);
        let err = verify(b"plan bytes", &to_json(&forged), &policy).expect_err("keyless untrusted signature");
        assert!(matches!(err, Error::SignatureInvalid { index: 1, .. }), "{err:?}");
        assert!(err.to_string().contains("tried every trusted key"), "{err}");

        // Claiming the trusted key id does not help the attacker's signature.
        let mut impostor = extra.clone();
        impostor.keyid = OPENSSL_KEYID.to_owned();
        let mut forged = genuine.clone();
        forged.signatures.push(impostor);
        let err = verify(b"plan bytes", &to_json(&forged), &policy).expect_err("impostor signature");
        assert!(matches!(err, Error::SignatureInvalid { index: 1, .. }), "{err:?}");
    }

    // Once the second signer is trusted as well, both signatures verify and the envelope is accepted.
    let mut cosigned = genuine.clone();
    cosigned.signatures.push(extra);
    let verified = verify(
        b"plan bytes",
        &to_json(&cosigned),
        &Policy::trusting(vec![attacker.public(), signer.public()]),
    )
    .expect("both signers trusted");
    assert_eq!(verified.keyid.as_deref(), Some(OPENSSL_KEYID));
}

#[test]
fn unsigned_envelopes_are_accepted_only_with_allow_unsigned() {
    let dir = TempDir::new();
    let store = Store::open(dir.path()).expect("open");
    store
        .put("report", "text/markdown", b"# ok", &predicate(), None)
        .expect("put");
    let envelope = fs::read(store.envelope_path("report").expect("path")).expect("read");

    let verified = verify(b"# ok", &envelope, &allow_unsigned_without_keys()).expect("allowed unsigned");
    assert_eq!((verified.subject.as_str(), verified.keyid), ("report", None));
    let artifact = store
        .get("report", &allow_unsigned_without_keys())
        .expect("allowed unsigned");
    assert_eq!((artifact.data.as_slice(), artifact.signed_by), (&b"# ok"[..], None));
    // Unsigned is not a way around the digest.
    let err = verify(b"# ko", &envelope, &allow_unsigned_without_keys()).expect_err("other data");
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");

    for policy in [
        Policy::default(),
        Policy::trusting(vec![Signer::generate().expect("generate").public()]),
    ] {
        let err = verify(b"# ok", &envelope, &policy).expect_err("unsigned");
        assert!(matches!(err, Error::Unsigned), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("TOLLGATE_SIGNING_KEY") && message.contains("--allow-unsigned"),
            "{message}"
        );
    }
}

#[test]
fn url_safe_and_unpadded_base64_of_a_genuine_envelope_are_accepted() {
    // Inputs that put `?`, `~` and `>` at every position modulo 3, so the payload's base64 uses `+` and `/`.
    let mut predicate = predicate();
    predicate.inputs.insert("query".into(), json!("???~~~>>>"));
    let dir = TempDir::new();
    let store = Store::open(dir.path()).expect("open");
    let signer = Signer::from_pem(OPENSSL_PRIVATE).expect("key");
    let policy = Policy::trusting(vec![signer.public()]);
    let differs = |text: &str| text.contains(['+', '/']) && text.ends_with('=');

    // A name for which both the payload and the signature exercise the alphabet and the padding.
    let (name, genuine) = (1..60)
        .map(|len| "p".repeat(len))
        .find_map(|name| {
            store
                .put(&name, "text/plain", b"data", &predicate, Some(&signer))
                .expect("put");
            let envelope = read_envelope(&store, &name);
            (differs(&envelope.payload) && differs(&envelope.signatures[0].sig)).then_some((name, envelope))
        })
        .expect("some name gives `+`/`/` and padding in both payload and signature");
    // What we write is standard base64 with padding.
    assert!(STANDARD.decode(&genuine.payload).is_ok() && STANDARD.decode(&genuine.signatures[0].sig).is_ok());

    let engines = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD];
    let payload = STANDARD.decode(&genuine.payload).expect("base64");
    let sig = STANDARD.decode(&genuine.signatures[0].sig).expect("base64");
    for payload_engine in engines {
        for sig_engine in engines {
            let mut reencoded = genuine.clone();
            reencoded.payload = payload_engine.encode(&payload);
            reencoded.signatures[0].sig = sig_engine.encode(&sig);
            let verified = verify(b"data", &to_json(&reencoded), &policy)
                .unwrap_or_else(|err| panic!("{} / {}: {err}", reencoded.payload, reencoded.signatures[0].sig));
            assert_eq!(
                (verified.subject.as_str(), verified.keyid.as_deref()),
                (name.as_str(), Some(OPENSSL_KEYID))
            );
            // And through the store.
            fs::write(store.envelope_path(&name).expect("path"), to_json(&reencoded)).expect("write");
            assert_eq!(store.get(&name, &policy).expect("store get").data, b"data");
        }
    }

    // Garbage is still garbage.
    let url_payload = URL_SAFE.encode(&payload);
    let std_payload = genuine.payload.clone();
    // `+` at one place and `-` or `_` at another: neither alphabet.
    let specials: Vec<usize> = std_payload.match_indices(['+', '/']).map(|(at, _)| at).collect();
    assert!(specials.len() >= 2, "{std_payload}");
    let mut mixed = url_payload.clone();
    mixed.replace_range(specials[0]..=specials[0], &std_payload[specials[0]..=specials[0]]);
    let partial_padding = format!("{}=", genuine.payload.trim_end_matches('='));
    let partial_padding = if partial_padding == genuine.payload {
        format!("{partial_padding}=")
    } else {
        partial_padding
    };
    for bad_payload in [
        mixed,
        partial_padding,
        format!("{} ", genuine.payload),
        format!("{}*", genuine.payload.trim_end_matches('=')),
        "%%%%".to_owned(),
    ] {
        let mut bad = genuine.clone();
        bad.payload = bad_payload.clone();
        let err = verify(b"data", &to_json(&bad), &policy).expect_err(&bad_payload);
        assert!(
            matches!(err, Error::MalformedEnvelope { .. }),
            "{bad_payload:?}: {err:?}"
        );
        assert!(err.to_string().contains("`payload` is not base64"), "{err}");
    }
    for (bad_sig, expected) in [
        ("AAAA-AAA+", "not base64"),
        ("====", "not base64"),
        ("", "decodes to 0 bytes"),
        (&STANDARD.encode(&sig[..63]) as &str, "decodes to 63 bytes"),
        (&STANDARD.encode([sig.as_slice(), b"x"].concat()), "decodes to 65 bytes"),
    ] {
        let mut bad = genuine.clone();
        bad.signatures[0].sig = bad_sig.to_owned();
        let err = verify(b"data", &to_json(&bad), &policy).expect_err(bad_sig);
        assert!(matches!(err, Error::MalformedEnvelope { .. }), "{bad_sig:?}: {err:?}");
        let message = err.to_string();
        assert!(
            message.contains(expected) && message.contains("`signatures[0]`") && message.contains(OPENSSL_KEYID),
            "{message}"
        );
    }
}

#[test]
fn a_genuine_envelope_still_verifies() {
    let (_dir, store, signer) = signed_store("us-east/tfplan", b"plan bytes");
    let envelope = fs::read(store.envelope_path("us-east/tfplan").expect("path")).expect("read");
    let other = Signer::generate().expect("generate");
    for policy in [
        Policy::trusting(vec![signer.public()]),
        Policy::trusting(vec![other.public(), signer.public()]),
        Policy {
            trusted: vec![signer.public()],
            allow_unsigned: true,
            expect_subject: Some("us-east/tfplan".into()),
        },
    ] {
        let verified = verify(b"plan bytes", &envelope, &policy).expect("genuine");
        assert_eq!(verified.keyid.as_deref(), Some(OPENSSL_KEYID));
        assert_eq!(verified.subject, "us-east/tfplan");
        let artifact = store.get("us-east/tfplan", &policy).expect("genuine");
        assert_eq!(artifact.signed_by.as_deref(), Some(OPENSSL_KEYID));
    }
    // Without key id, a genuine signature is found by trying every trusted key.
    let mut keyless = read_envelope(&store, "us-east/tfplan");
    keyless.signatures[0].keyid.clear();
    let verified = verify(
        b"plan bytes",
        &to_json(&keyless),
        &Policy::trusting(vec![other.public(), signer.public()]),
    )
    .expect("keyless genuine");
    assert_eq!(verified.keyid.as_deref(), Some(OPENSSL_KEYID));
}
