//! Secret names: a granted secret's value is read from the environment variable of that name, so secret names
//! are environment variable names, `[A-Za-z_][A-Za-z0-9_]*`. Pipeline `env:` keys follow the same rule.
//!
//! A plugin that cannot know its secrets' names before it reads its inputs (canary-gate reads them from
//! an AnalysisTemplate's `secretKeyRef`s) requests a prefix: `PROM_*`, or `*` for any. It still gets only
//! secrets the step grants by name: a request never widens a grant.

use crate::error::{Invalid, Result};

/// The hint of every malformed-name error.
const SYNTAX: &str = "secret names are environment variable names: letters, digits and `_`, not starting with a digit";

/// Is `name` an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`)?
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Check a secret name.
pub fn check_secret_name(name: &str) -> Result<()> {
    if is_env_name(name) {
        return Ok(());
    }
    let problem = match name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        _ if name.is_empty() => "the name is empty".to_string(),
        Some(c) => format!("`{}` is not allowed", c.escape_debug()),
        None => "it starts with a digit".to_string(),
    };
    Err(Invalid::new("secret name", name, problem, Some(SYNTAX)))
}

/// Does the secret request `request` (a name, or a prefix ending in `*`) cover the secret `name`?
pub fn secret_request_covers(request: &str, name: &str) -> bool {
    match request.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => request == name,
    }
}

/// The Tollgate secret a Kubernetes `secretKeyRef: {name, key}` reads: both parts upper-cased, joined by
/// `_`, every character that may not be in an environment variable name (`-`, `.`) turned into `_`, and
/// `_` put first when the result would start with a digit. `{name: prom-auth, key: token}` reads
/// `PROM_AUTH_TOKEN`.
pub fn secret_ref_name(name: &str, key: &str) -> String {
    let joined: String = format!("{name}_{key}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_request_covers_only_names_under_it() {
        assert!(secret_request_covers("TOKEN", "TOKEN"));
        assert!(!secret_request_covers("TOKEN", "TOKEN2"));
        assert!(secret_request_covers("PROM_*", "PROM_AUTH_TOKEN"));
        assert!(!secret_request_covers("PROM_*", "AWS_SECRET_ACCESS_KEY"));
        assert!(secret_request_covers("*", "ANY"));
    }

    #[test]
    fn secret_key_refs_name_environment_variables() {
        for (name, key, want) in [
            ("prom-auth", "token", "PROM_AUTH_TOKEN"),
            ("datadog", "api-key", "DATADOG_API_KEY"),
            ("my.secret", "pass.word", "MY_SECRET_PASS_WORD"),
            ("1st", "k", "_1ST_K"),
            ("ünï", "k", "_N__K"),
        ] {
            let got = secret_ref_name(name, key);
            assert_eq!(got, want, "{name}/{key}");
            assert!(is_env_name(&got), "{got}");
        }
    }

    #[test]
    fn environment_variable_names() {
        for ok in ["TOKEN", "_x", "GITHUB_TOKEN", "a1"] {
            assert!(check_secret_name(ok).is_ok(), "{ok}");
        }
        for (bad, problem) in [
            ("", "the name is empty"),
            ("MY-TOKEN", "`-` is not allowed"),
            ("1TOKEN", "it starts with a digit"),
            ("A B", "` ` is not allowed"),
            ("ÄPFEL", "`Ä` is not allowed"),
        ] {
            assert_eq!(check_secret_name(bad).unwrap_err().problem(), problem, "{bad}");
        }
    }
}
