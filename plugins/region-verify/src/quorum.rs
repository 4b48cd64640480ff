//! The quorum: how many endpoints must be healthy, from `min-healthy` as a count or a share.

use serde_json::Value;

/// How many healthy endpoints the step needs, and how the author wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    /// How many endpoints must be healthy, from 1 to `total`.
    pub required: usize,
    /// How many endpoints there are.
    pub total: usize,
}

impl Quorum {
    /// `None` means every endpoint; `2`, `"2"`, `"66%"` and `"all"` are accepted. A share
    /// rounds up, so `66%` of 3 needs 2 and `50%` of 3 needs 2: never fewer than asked.
    pub fn parse(value: Option<&Value>, total: usize) -> Result<Self, String> {
        let required = match value {
            None => total,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                None => return Err(format!("`{n}` is not a whole number of endpoints; {HINT}")),
            },
            Some(Value::String(s)) => parse_text(s.trim(), total)?,
            Some(other) => return Err(format!("got {other}; {HINT}")),
        };
        if required == 0 || required > total {
            return Err(format!(
                "needs between 1 and {total} healthy endpoint(s) (there are {total}), \
                 got {required}; {HINT}"
            ));
        }
        Ok(Self { required, total })
    }

    /// Whether `healthy` endpoints are enough.
    pub fn met(&self, healthy: usize) -> bool {
        healthy >= self.required
    }
}

const HINT: &str = "write a count such as `2` or a share such as `\"66%\"`";

fn parse_text(text: &str, total: usize) -> Result<usize, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(total);
    }
    if let Some(share) = text.strip_suffix('%') {
        let pct: f64 = share
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite())
            .ok_or_else(|| format!("`{text}` is not a percentage; {HINT}"))?;
        if pct <= 0.0 || pct > 100.0 {
            return Err(format!("`{text}` must be above 0% and at most 100%"));
        }
        // The epsilon keeps exact shares exact despite float error (e.g. 70% of 10 is 7, not 8).
        return Ok((total as f64 * pct / 100.0 - 1e-9).ceil() as usize);
    }
    text.parse()
        .map_err(|_| format!("`{text}` is not a count or a percentage; {HINT}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn required(v: Value, total: usize) -> Result<usize, String> {
        Quorum::parse(Some(&v), total).map(|q| q.required)
    }

    #[test]
    fn counts_and_shares() {
        assert_eq!(Quorum::parse(None, 3).unwrap().required, 3);
        assert_eq!(required(json!(2), 3), Ok(2));
        assert_eq!(required(json!("2"), 3), Ok(2));
        assert_eq!(required(json!("66%"), 3), Ok(2));
        assert_eq!(required(json!("66.6%"), 3), Ok(2));
        assert_eq!(required(json!("67%"), 3), Ok(3));
        assert_eq!(required(json!("50%"), 4), Ok(2));
        assert_eq!(required(json!("70%"), 10), Ok(7));
        assert_eq!(required(json!("1%"), 3), Ok(1));
        assert_eq!(required(json!("100%"), 3), Ok(3));
        assert_eq!(required(json!("all"), 5), Ok(5));
    }

    #[test]
    fn rejects_impossible_quorums_with_the_range() {
        let err = required(json!(4), 3).unwrap_err();
        assert!(err.contains("between 1 and 3") && err.contains("got 4"), "{err}");
        assert!(required(json!(0), 3).unwrap_err().contains("got 0"));
        assert!(required(json!("0%"), 3).unwrap_err().contains("above 0%"));
        assert!(required(json!("150%"), 3).unwrap_err().contains("at most 100%"));
        assert!(required(json!("most"), 3).unwrap_err().contains("`most`"));
        assert!(required(json!(1.5), 3).unwrap_err().contains("whole number"));
        assert!(required(json!(-1), 3).unwrap_err().contains("whole number"));
        assert!(required(json!(true), 3).unwrap_err().contains("\"66%\""));
    }

    #[test]
    fn met_at_or_above_the_requirement() {
        let q = Quorum::parse(Some(&json!("66%")), 3).unwrap();
        assert!(!q.met(1));
        assert!(q.met(2));
        assert!(q.met(3));
    }
}
