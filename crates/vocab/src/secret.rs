//! Secret names: a granted secret's value is read from the environment variable of that name, so secret names
//! are environment variable names, `[A-Za-z_][A-Za-z0-9_]*`. Pipeline `env:` keys follow the same rule.

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

#[cfg(test)]
mod tests {
    use super::*;

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
