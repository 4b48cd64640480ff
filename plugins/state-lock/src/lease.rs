//! The lock's record and the one rule for when a lease has expired.
//!
//! Every backend stores one [`Record`] per key behind a compare-and-swap: whoever holds a
//! lease, or that the lock is free and who freed it. A record is JSON, versioned by the backend
//! (a generation number, a commit sha, an ETag, a counter).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The record format's name, so a foreign object under the same key is never taken for ours.
pub const FORMAT: &str = "tollgate-lock/1";

/// Who holds a lease and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Who holds it, for people: e.g. `octo-org/infra run 4242 (PR #7)`.
    pub holder: String,
    /// The lease token: only its bearer releases or renews.
    pub token: String,
    /// The workflow run that holds it, as a link path (`/owner/repo/actions/runs/ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The pull request it is held for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    /// The commit it is held for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// When it was first acquired (Unix milliseconds, the holder's clock).
    pub acquired_ms: u64,
    /// When it was last acquired or renewed (Unix milliseconds, the holder's clock).
    pub renewed_ms: u64,
    /// How long it lasts after each renewal.
    pub ttl_ms: u64,
}

impl Lease {
    /// When it ends by the holder's clock.
    pub fn expires_ms(&self) -> u64 {
        self.renewed_ms.saturating_add(self.ttl_ms)
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms)
    }

    /// `holder` with its run, pull request and times, for messages.
    pub fn describe(&self) -> String {
        let mut s = self.holder.clone();
        match (self.pull_request, self.sha.as_deref()) {
            (Some(pr), Some(sha)) => s.push_str(&format!(" (PR #{pr} at {})", short(sha))),
            (Some(pr), None) => s.push_str(&format!(" (PR #{pr})")),
            (None, Some(sha)) => s.push_str(&format!(" (at {})", short(sha))),
            (None, None) => {}
        }
        s.push_str(&format!(
            ", since {} until {}",
            rfc3339(self.acquired_ms),
            rfc3339(self.expires_ms())
        ));
        if let Some(run) = &self.run {
            s.push_str(&format!(", run {run}"));
        }
        s
    }
}

/// A commit sha as people quote it: its first 12 characters.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Record {
    /// A live (or expired) lease.
    Held(Lease),
    /// Free: released by its holder, or forced free.
    Free {
        /// Who freed it.
        by: String,
        /// When (Unix milliseconds, their clock).
        at_ms: u64,
        /// Forced free (`force-release`), with the reason given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forced: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    #[serde(flatten)]
    record: Record,
}

impl Record {
    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Stored {
            format: FORMAT.into(),
            record: self.clone(),
        })
        .expect("a record serializes")
    }

    /// The record in `text`, or why it is not one of ours.
    pub fn from_json(text: &str) -> Result<Record, String> {
        let stored: Stored = serde_json::from_str(text.trim()).map_err(|e| format!("not a lock record ({e})"))?;
        if stored.format != FORMAT {
            return Err(format!("a lock record of format `{}`, not `{FORMAT}`", stored.format));
        }
        Ok(stored.record)
    }

    /// The lease, when held.
    pub fn lease(&self) -> Option<&Lease> {
        match self {
            Record::Held(l) => Some(l),
            Record::Free { .. } => None,
        }
    }
}

/// How a contender decides that a lease it sees has expired.
///
/// - With the backend's clock (the file backend's file times, S3's `Date` and
///   `Last-Modified`): the lease ends `ttl` after the backend wrote its current version, by
///   the backend's clock, plus [`BACKEND_MARGIN`]; nobody's own clock is read.
/// - Without one (GitHub refs, DynamoDB): a lease has expired once this contender has watched
///   the same version stay unchanged for the whole TTL on its own monotonic clock (immune to
///   wall-clock skew), or once the holder's own expiry time is more than `max_skew` in the past
///   by this contender's wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Judge {
    /// The largest wall-clock difference assumed between two runners.
    pub max_skew: Duration,
}

/// Added to a lease's end by the backend's clock: file and HTTP times are whole seconds.
pub const BACKEND_MARGIN: Duration = Duration::from_secs(2);

/// What a contender knows when it judges a lease.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// The backend's time when it wrote the current version, and the backend's time now.
    pub backend: Option<(u64, u64)>,
    /// How long this contender has watched this version unchanged.
    pub watched: Duration,
    /// This contender's wall clock (Unix milliseconds).
    pub own_now_ms: u64,
}

impl Judge {
    /// Has `lease` expired?
    pub fn expired(&self, lease: &Lease, seen: Seen) -> bool {
        match seen.backend {
            Some((written_ms, now_ms)) => {
                now_ms >= written_ms.saturating_add(lease.ttl_ms + BACKEND_MARGIN.as_millis() as u64)
            }
            None => {
                seen.watched >= lease.ttl()
                    || seen.own_now_ms > lease.expires_ms().saturating_add(self.max_skew.as_millis() as u64)
            }
        }
    }
}

/// `ms` (Unix milliseconds) as RFC 3339 in UTC, to the second.
pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// This runner's wall clock, Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease() -> Lease {
        Lease {
            holder: "a".into(),
            token: "t".into(),
            run: None,
            pull_request: Some(7),
            sha: None,
            acquired_ms: 1_000_000,
            renewed_ms: 1_000_000,
            ttl_ms: 60_000,
        }
    }

    #[test]
    fn records_round_trip_and_foreign_json_is_refused() {
        for r in [
            Record::Held(lease()),
            Record::Free {
                by: "b".into(),
                at_ms: 5,
                forced: Some("stuck".into()),
            },
        ] {
            assert_eq!(Record::from_json(&r.to_json()).unwrap(), r);
        }
        assert!(Record::from_json(r#"{"ID":"terraform"}"#).is_err());
        assert!(Record::from_json(r#"{"format":"other/1","state":"free","by":"x","at_ms":1}"#).is_err());
    }

    #[test]
    fn the_backends_clock_decides_when_it_has_one() {
        let judge = Judge {
            max_skew: Duration::from_secs(600),
        };
        let written = 50_000_000;
        let seen = |now, own| Seen {
            backend: Some((written, now)),
            watched: Duration::ZERO,
            own_now_ms: own,
        };
        // A contender whose own clock is far ahead changes nothing.
        assert!(!judge.expired(&lease(), seen(written + 60_000, u64::MAX / 2)));
        assert!(judge.expired(&lease(), seen(written + 62_000, 0)));
    }

    #[test]
    fn without_a_backend_clock_skew_up_to_the_margin_never_expires_a_live_lease() {
        let judge = Judge {
            max_skew: Duration::from_secs(600),
        };
        let l = lease();
        let ahead = Seen {
            backend: None,
            watched: Duration::from_secs(1),
            // Five minutes ahead, right after the holder renewed.
            own_now_ms: l.renewed_ms + 300_000,
        };
        assert!(!judge.expired(&l, ahead));
        // Watching the same version for the whole TTL is proof, whatever the clocks say.
        assert!(judge.expired(
            &l,
            Seen {
                watched: l.ttl(),
                ..ahead
            }
        ));
        // Long dead by any clock within the margin.
        assert!(judge.expired(
            &l,
            Seen {
                own_now_ms: l.expires_ms() + 600_001,
                ..ahead
            }
        ));
    }
}
