//! AWS Signature Version 4, done inside the guest so the host never links an AWS SDK: one signer
//! for every plugin that calls AWS (state-lock's DynamoDB and S3 backends, canary-gate's Amazon
//! Managed Prometheus), and the secret names its credentials come from.
//!
//! Hand-written on `hmac` + `sha2` (a few hundred KB less component than `aws-sigv4` and its
//! runtime crates) and checked against AWS's own worked examples in the tests below. It signs
//! exactly what the callers send: a method, a path that is already percent-encoded as
//! it goes on the wire (used as the canonical URI as is, which is what S3 wants; DynamoDB's
//! path is `/`, the same either way), an optional query, the headers given, and the body's
//! SHA-256. `host` must be among the headers as the host sends it (wasmtime-wasi-http writes
//! it from the URL's authority, port included).

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// The secrets credentials are read from: the names AWS's own tools use for the same values.
pub const ACCESS_KEY_SECRET: &str = "AWS_ACCESS_KEY_ID";
/// The secret access key's secret.
pub const SECRET_KEY_SECRET: &str = "AWS_SECRET_ACCESS_KEY";
/// The optional session token's secret (temporary credentials).
pub const SESSION_TOKEN_SECRET: &str = "AWS_SESSION_TOKEN";

/// An access key, from granted secrets.
#[derive(Clone)]
pub struct Credentials {
    /// `AKIA…` / `ASIA…`.
    pub access_key_id: String,
    /// The secret key: only ever an HMAC key, never sent.
    pub secret_access_key: String,
    /// For temporary credentials: sent as `x-amz-security-token`.
    pub session_token: Option<String>,
}

impl Credentials {
    /// Credentials from secrets, read with `secret` (the plugin's granted secrets): the access key and
    /// secret key are required, the session token is used when there is one. Values are trimmed; an
    /// empty one counts as missing. The error is the name of the first missing secret.
    pub fn from_secrets(secret: impl Fn(&str) -> Option<String>) -> Result<Credentials, &'static str> {
        let read = |name: &str| secret(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Ok(Credentials {
            access_key_id: read(ACCESS_KEY_SECRET).ok_or(ACCESS_KEY_SECRET)?,
            secret_access_key: read(SECRET_KEY_SECRET).ok_or(SECRET_KEY_SECRET)?,
            session_token: read(SESSION_TOKEN_SECRET),
        })
    }
}

// Never printed: a `{:?}` of a backend must not leak the secret.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A request to sign.
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`, `DELETE`, …
    pub method: &'a str,
    /// The path as sent, percent-encoded (e.g. `/bucket/a%20b`).
    pub path: &'a str,
    /// The query string as sent, without `?` (empty when none).
    pub query: &'a str,
    /// Every header to sign, `host` included; names in any case.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// `x-amz-date` for Unix time `secs`: `YYYYMMDD'T'HHMMSS'Z'`.
pub fn amz_date(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    // `2015-08-30T12:36:00Z` without its separators.
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 in hex (the payload hash S3 wants in `x-amz-content-sha256`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Percent-encode everything but RFC 3986's unreserved characters (and `/` when
/// `keep_slash`), as SigV4 and S3 object keys want it.
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    // RFC 3986's unreserved characters stay; everything else is encoded.
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    const UNRESERVED_OR_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');
    let set = if keep_slash { UNRESERVED_OR_SLASH } else { UNRESERVED };
    utf8_percent_encode(text, set).to_string()
}

/// The canonical query: each `name=value` pair (already encoded as sent) sorted by name, then
/// value; a bare `name` becomes `name=`.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// What the signature covers: the canonical request's pieces.
struct Canonical {
    request: String,
    signed_headers: String,
}

fn canonical(req: &Request, payload_hash: &str) -> Canonical {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(n, v)| {
            // Values trimmed, inner runs of spaces folded to one.
            let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (n.to_ascii_lowercase(), value)
        })
        .collect();
    headers.sort();
    let signed_headers = headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let header_block: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let request = format!(
        "{}\n{}\n{}\n{header_block}\n{signed_headers}\n{payload_hash}",
        req.method,
        if req.path.is_empty() { "/" } else { req.path },
        canonical_query(req.query),
    );
    Canonical {
        request,
        signed_headers,
    }
}

/// The `Authorization` header's value for `req` at `amz_date` (which must also be sent, and
/// signed, as `x-amz-date`), for `service` in `region`.
pub fn authorization(creds: &Credentials, region: &str, service: &str, amz_date: &str, req: &Request) -> String {
    let day = &amz_date[..8.min(amz_date.len())];
    let scope = format!("{day}/{region}/{service}/aws4_request");
    let canonical = canonical(req, &sha256_hex(req.body));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.request.as_bytes())
    );
    let key = signing_key(&creds.secret_access_key, day, region, service);
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        creds.access_key_id, canonical.signed_headers
    )
}

fn signing_key(secret: &str, day: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Sign `req` at Unix time `now_secs`: the headers to send besides `req.headers`
/// (`x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` when there is one, and
/// `authorization`). `req.headers` must hold `host` and everything else that will be sent.
pub fn sign(creds: &Credentials, region: &str, service: &str, now_secs: u64, req: &Request) -> Vec<(String, String)> {
    let date = amz_date(now_secs);
    let mut added = vec![
        ("x-amz-date".to_string(), date.clone()),
        // S3 requires it; DynamoDB ignores it. Signed either way.
        ("x-amz-content-sha256".to_string(), sha256_hex(req.body)),
    ];
    if let Some(token) = &creds.session_token {
        added.push(("x-amz-security-token".to_string(), token.clone()));
    }
    let all: Vec<(String, String)> = req.headers.iter().chain(added.iter()).cloned().collect();
    let auth = authorization(creds, region, service, &date, &Request { headers: &all, ..*req });
    added.push(("authorization".to_string(), auth));
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example credentials every AWS SigV4 document uses.
    fn example() -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    /// The S3 guide's examples use a key with `/` where the SigV4 guide has `+`.
    fn s3_example() -> Credentials {
        Credentials {
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            ..example()
        }
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    fn signature(auth: &str) -> &str {
        auth.rsplit("Signature=").next().unwrap()
    }

    #[test]
    fn dates_and_encoding() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(uri_encode("a b/c~d*é", true), "a%20b/c~d%2A%C3%A9");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(canonical_query("b=2&a=1&c"), "a=1&b=2&c=");
    }

    /// The worked example of AWS's SigV4 guide ("Examples of the complete Signature Version 4
    /// signing process"): IAM `ListUsers`, with its documented intermediate values.
    #[test]
    fn the_sigv4_guides_worked_example() {
        let headers = h(&[
            ("Host", "iam.amazonaws.com"),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let req = Request {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body: b"",
        };
        let c = canonical(&req, &sha256_hex(b""));
        assert_eq!(
            sha256_hex(c.request.as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            hex(&signing_key(
                &example().secret_access_key,
                "20150830",
                "us-east-1",
                "iam"
            )),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let auth = authorization(&example(), "us-east-1", "iam", "20150830T123600Z", &req);
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    /// The S3 guide's examples ("Signature calculations for the Authorization header:
    /// transferring payload in a single chunk"): GET with a range, PUT with a body, and GETs
    /// with a query.
    #[test]
    fn the_s3_guides_examples() {
        let empty = sha256_hex(b"");
        let date = "20130524T000000Z";
        let get = h(&[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", &empty),
            ("x-amz-date", date),
        ]);
        let auth = authorization(
            &s3_example(),
            "us-east-1",
            "s3",
            date,
            &Request {
                method: "GET",
                path: "/test.txt",
                query: "",
                headers: &get,
                body: b"",
            },
        );
        assert_eq!(
            signature(&auth),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert!(auth.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"));

        let body = b"Welcome to Amazon S3.";
        let put = h(&[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", date),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", &sha256_hex(body)),
        ]);
        let auth = authorization(
            &s3_example(),
            "us-east-1",
            "s3",
            date,
            &Request {
                method: "PUT",
                path: "/test%24file.text",
                query: "",
                headers: &put,
                body,
            },
        );
        assert_eq!(
            signature(&auth),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );

        let base = h(&[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", date),
            ("x-amz-content-sha256", &empty),
        ]);
        for (query, expected) in [
            (
                "lifecycle",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            ),
            (
                "max-keys=2&prefix=J",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            ),
        ] {
            let auth = authorization(
                &s3_example(),
                "us-east-1",
                "s3",
                date,
                &Request {
                    method: "GET",
                    path: "/",
                    query,
                    headers: &base,
                    body: b"",
                },
            );
            assert_eq!(signature(&auth), expected, "?{query}");
        }
    }

    #[test]
    fn credentials_need_both_keys_and_take_a_session_token_when_there_is_one() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        };
        let c = Credentials::from_secrets(env(&[(ACCESS_KEY_SECRET, " AK\n"), (SECRET_KEY_SECRET, "SK")])).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token), ("AK", None));
        let c = Credentials::from_secrets(env(&[
            (ACCESS_KEY_SECRET, "AK"),
            (SECRET_KEY_SECRET, "SK"),
            (SESSION_TOKEN_SECRET, "T"),
        ]))
        .unwrap();
        assert_eq!(c.session_token.as_deref(), Some("T"));
        let missing = Credentials::from_secrets(env(&[(ACCESS_KEY_SECRET, "AK"), (SECRET_KEY_SECRET, "  ")]));
        assert_eq!(missing.unwrap_err(), SECRET_KEY_SECRET);
        assert!(!format!("{c:?}").contains("SK"), "Debug must not print the secret key");
    }

    #[test]
    fn sign_adds_the_date_payload_hash_token_and_authorization() {
        let creds = Credentials {
            session_token: Some("tok".into()),
            ..example()
        };
        let added = sign(
            &creds,
            "eu-west-1",
            "dynamodb",
            1_440_938_160,
            &Request {
                method: "POST",
                path: "/",
                query: "",
                headers: &h(&[("host", "127.0.0.1:4566")]),
                body: b"{}",
            },
        );
        let names: Vec<&str> = added.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-amz-date",
                "x-amz-content-sha256",
                "x-amz-security-token",
                "authorization"
            ]
        );
        let auth = &added[3].1;
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150830/eu-west-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="),
            "{auth}"
        );
        assert!(!format!("{creds:?}").contains("EXAMPLEKEY"), "never printed");
    }
}
