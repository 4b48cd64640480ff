//! The lock's operations over any [`Backend`]: acquire (fail fast or wait), release and renew
//! (only with the lease token), force-release and status. Every write is a compare-and-swap
//! on the version just read; a lost swap reads again, so no interleaving yields two holders.

use crate::backend::{Backend, BackendError, Current, Put, Version};
use crate::lease::{Judge, Lease, Record, Seen, now_ms};
use std::time::Duration;
use tollgate_sdk::runtime::{Instant, block_on, sleep};

/// `poll` spread over ±50%, so waiting contenders do not look again in lockstep.
fn jittered(poll: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let draw = getrandom::fill(&mut byte)
        .map(|()| f64::from(byte[0]) / 255.0)
        .unwrap_or(0.5);
    poll.mul_f64(0.5 + draw)
}

/// What an operation ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockError {
    /// Someone else holds a live lease.
    Held(Box<Lease>),
    /// The caller's token does not hold the lock.
    NotHolder {
        /// The current holder, if any.
        holder: Option<Box<Lease>>,
    },
    /// The backend failed.
    Backend(BackendError),
}

impl From<BackendError> for LockError {
    fn from(e: BackendError) -> Self {
        LockError::Backend(e)
    }
}

/// A lease this caller now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The lease as stored.
    pub lease: Lease,
    /// The version that stores it.
    pub version: Version,
    /// The expired lease this acquire took over, if any.
    pub took_over: Option<Lease>,
}

/// How an acquire waits.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    /// How long to keep trying; zero fails at once.
    pub timeout: Duration,
    /// How often to look again.
    pub poll: Duration,
}

/// Everything an operation needs besides the backend.
pub struct Lock<'a, B: Backend> {
    /// The key's register.
    pub backend: &'a mut B,
    /// How expiry is judged.
    pub judge: Judge,
    /// When versions were first seen unchanged, for expiry without the backend's clock.
    watched: Option<(Version, Instant)>,
}

impl<'a, B: Backend> Lock<'a, B> {
    /// Operations on `backend`.
    pub fn new(backend: &'a mut B, judge: Judge) -> Self {
        Lock {
            backend,
            judge,
            watched: None,
        }
    }

    /// Has the lease in `current` expired, as this contender can tell?
    fn expired(&mut self, current: &Current, lease: &Lease) -> Result<bool, BackendError> {
        let since = match &self.watched {
            Some((v, since)) if *v == current.version => *since,
            _ => {
                let now = Instant::now();
                self.watched = Some((current.version.clone(), now));
                now
            }
        };
        let backend = match current.written_ms {
            Some(written) => self.backend.now_ms()?.map(|now| (written, now)),
            None => None,
        };
        Ok(self.judge.expired(
            lease,
            Seen {
                backend,
                watched: since.elapsed(),
                own_now_ms: now_ms(),
            },
        ))
    }

    /// Take the lock for `mine`, waiting as `wait` says while someone else holds a live lease;
    /// `progress` hears about each wait.
    pub fn acquire(
        &mut self,
        mine: Lease,
        wait: Wait,
        progress: &mut dyn FnMut(&Lease, Duration),
    ) -> Result<Held, LockError> {
        let started = Instant::now();
        loop {
            let current = self.backend.read()?;
            let (expected, took_over) = match &current {
                None => (None, None),
                Some(c) => match &c.record {
                    Record::Free { .. } => (Some(c.version.clone()), None),
                    // Acquiring again with our own token: we hold it; renew.
                    Record::Held(l) if l.token == mine.token => (Some(c.version.clone()), None),
                    Record::Held(l) => {
                        if self.expired(c, l)? {
                            (Some(c.version.clone()), Some(l.clone()))
                        } else {
                            let waited = started.elapsed();
                            if waited >= wait.timeout {
                                return Err(LockError::Held(Box::new(l.clone())));
                            }
                            progress(l, waited);
                            block_on(sleep(jittered(wait.poll).min(wait.timeout - waited)));
                            continue;
                        }
                    }
                },
            };
            let mut lease = mine.clone();
            lease.renewed_ms = now_ms();
            if took_over.is_none()
                && let Some(Record::Held(own)) = current.as_ref().map(|c| &c.record)
            {
                lease.acquired_ms = own.acquired_ms;
            }
            if let Put::Won(version) = self.backend.put(expected.as_ref(), &Record::Held(lease.clone()))? {
                return Ok(Held {
                    lease,
                    version,
                    took_over,
                });
            }
        }
    }

    /// Free the lock held with `token`, as `by`.
    pub fn release(&mut self, token: &str, by: &str) -> Result<Lease, LockError> {
        loop {
            let (current, lease) = self.held_by(token)?;
            let free = Record::Free {
                by: by.to_string(),
                at_ms: now_ms(),
                forced: None,
            };
            if let Put::Won(_) = self.backend.put(Some(&current.version), &free)? {
                return Ok(lease);
            }
        }
    }

    /// Extend the lease held with `token` by its TTL from now.
    pub fn renew(&mut self, token: &str) -> Result<Held, LockError> {
        loop {
            let (current, mut lease) = self.held_by(token)?;
            lease.renewed_ms = now_ms();
            if let Put::Won(version) = self.backend.put(Some(&current.version), &Record::Held(lease.clone()))? {
                return Ok(Held {
                    lease,
                    version,
                    took_over: None,
                });
            }
        }
    }

    /// Free the lock whoever holds it, as `by`, for `reason`: the lease it ended, if any.
    pub fn force_release(&mut self, by: &str, reason: &str) -> Result<Option<Lease>, LockError> {
        loop {
            let Some(current) = self.backend.read()? else {
                return Ok(None);
            };
            let Record::Held(lease) = &current.record else {
                return Ok(None);
            };
            let free = Record::Free {
                by: by.to_string(),
                at_ms: now_ms(),
                forced: Some(reason.to_string()),
            };
            if let Put::Won(_) = self.backend.put(Some(&current.version), &free)? {
                return Ok(Some(lease.clone()));
            }
        }
    }

    /// The current record, and whether its lease (if any) is live as this contender sees it.
    pub fn status(&mut self) -> Result<Option<(Record, bool)>, LockError> {
        let Some(current) = self.backend.read()? else {
            return Ok(None);
        };
        let live = match &current.record {
            Record::Held(l) => !self.expired(&current, l)?,
            Record::Free { .. } => false,
        };
        Ok(Some((current.record, live)))
    }

    /// The current version when `token` holds it, even past its TTL as long as nobody took
    /// it over: a late release or renewal still counts.
    fn held_by(&mut self, token: &str) -> Result<(Current, Lease), LockError> {
        let current = self.backend.read()?;
        match current {
            Some(c) => match &c.record {
                Record::Held(l) if l.token == token => {
                    let lease = l.clone();
                    Ok((c, lease))
                }
                Record::Held(l) => Err(LockError::NotHolder {
                    holder: Some(Box::new(l.clone())),
                }),
                Record::Free { .. } => Err(LockError::NotHolder { holder: None }),
            },
            None => Err(LockError::NotHolder { holder: None }),
        }
    }
}
