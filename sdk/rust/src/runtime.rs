//! Async plumbing that works in the component and in native tests: [`block_on`], [`join_all`],
//! [`sleep`] and [`Instant`].
//!
//! Inside the component these are wstd's event loop, spawned tasks and timers, and the WASI
//! monotonic clock. Natively (under [`MockHost`](crate::testing::MockHost), or in any native
//! test) they run on a small single-threaded executor with a *virtual* clock: a `sleep` or a
//! mocked response's delay does not wait, it moves the clock forward once every task is waiting,
//! so tests of retries, backoff and timeouts are instant and deterministic, and concurrent waits
//! overlap just as they do in the component.
//!
//! ```
//! use std::time::Duration;
//! use tollgate_sdk::runtime::{Instant, block_on, join_all, sleep};
//!
//! let start = Instant::now();
//! let done = block_on(join_all((1..=3u64).map(|n| async move {
//!     sleep(Duration::from_millis(100 * n)).await;
//!     n
//! })));
//! assert_eq!(done, [1, 2, 3]);
//! // Natively the clock is virtual: the three waits overlapped and took no real time.
//! # #[cfg(not(target_arch = "wasm32"))]
//! assert_eq!(start.elapsed(), Duration::from_millis(300));
//! ```

use std::future::Future;
use std::time::Duration;

/// Run a future to completion, blocking the plugin (which is single-threaded) until it is done.
/// Do not nest inside the component: code already inside `block_on` awaits instead.
pub fn block_on<F: Future>(future: F) -> F::Output {
    imp::block_on(future)
}

/// Run every future concurrently and collect their outputs in order. Inside the component each
/// runs as a wstd task, so their requests and timers are all in flight together.
pub async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    imp::join_all(futures).await
}

/// Wait for `duration` (natively: advance the virtual clock; see the [module docs](self)).
pub async fn sleep(duration: Duration) {
    imp::sleep(duration).await
}

/// A point on the monotonic clock (natively, on the virtual clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(imp::Point);

impl Instant {
    /// Now.
    pub fn now() -> Self {
        Instant(imp::now())
    }

    /// The time since `earlier` (zero if `earlier` is later).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        imp::between(earlier.0, self.0)
    }

    /// The time since this instant.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use std::future::Future;
    use std::time::Duration;

    pub type Point = std::time::Instant;

    pub fn block_on<F: Future>(future: F) -> F::Output {
        wstd::runtime::block_on(future)
    }

    pub async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // Spawned first and awaited after, so every future runs at once.
        let tasks: Vec<_> = futures.into_iter().map(wstd::runtime::spawn).collect();
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(task.await);
        }
        out
    }

    pub async fn sleep(duration: Duration) {
        wstd::time::Timer::after(duration.into()).wait().await;
    }

    pub fn now() -> Point {
        std::time::Instant::now()
    }

    pub fn between(earlier: Point, later: Point) -> Duration {
        later.saturating_duration_since(earlier)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::{Cell, RefCell};
    use std::future::Future;
    use std::pin::{Pin, pin};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::Duration;

    /// Time since the thread's virtual clock started.
    pub type Point = Duration;

    thread_local! {
        static NOW: Cell<Duration> = const { Cell::new(Duration::ZERO) };
        static TIMERS: RefCell<Vec<(Duration, u64, Waker)>> = const { RefCell::new(Vec::new()) };
        static NEXT_TIMER: Cell<u64> = const { Cell::new(0) };
    }

    pub fn now() -> Point {
        NOW.with(Cell::get)
    }

    pub fn between(earlier: Point, later: Point) -> Duration {
        later.saturating_sub(earlier)
    }

    /// Start the virtual clock afresh (each [`MockHost::run`](crate::testing::MockHost::run)).
    pub fn reset_clock() {
        NOW.with(|n| n.set(Duration::ZERO));
        TIMERS.with(|t| t.borrow_mut().clear());
    }

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    pub fn block_on<F: Future>(future: F) -> F::Output {
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if flag.0.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    return out;
                }
                continue;
            }
            // Every task waits: move the clock to the next deadline and wake what is due.
            let next = TIMERS.with(|t| t.borrow().iter().map(|(d, _, _)| *d).min());
            let Some(next) = next else {
                panic!(
                    "tollgate_sdk::runtime::block_on: the future waits for something that never happens natively \
                     (only tollgate_sdk timers and MockHost answers run outside the component; \
                     use tollgate_sdk::runtime and tollgate_sdk::http rather than wstd directly)"
                );
            };
            NOW.with(|n| n.set(n.get().max(next)));
            let due: Vec<Waker> = TIMERS.with(|t| {
                let mut timers = t.borrow_mut();
                let (due, rest): (Vec<_>, Vec<_>) = timers.drain(..).partition(|(d, _, _)| *d <= next);
                *timers = rest;
                due.into_iter().map(|(_, _, w)| w).collect()
            });
            due.into_iter().for_each(Waker::wake);
        }
    }

    pub async fn sleep(duration: Duration) {
        let deadline = now().saturating_add(duration);
        let id = NEXT_TIMER.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        std::future::poll_fn(|cx| {
            if now() >= deadline {
                return Poll::Ready(());
            }
            // One entry per sleep: a poll replaces the waker it registered before.
            TIMERS.with(|t| {
                let mut timers = t.borrow_mut();
                timers.retain(|(_, i, _)| *i != id);
                timers.push((deadline, id, cx.waker().clone()));
            });
            Poll::Pending
        })
        .await
    }

    pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
        let mut pending: Vec<Option<Pin<Box<F>>>> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
        let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            for (slot, out) in pending.iter_mut().zip(done.iter_mut()) {
                if let Some(f) = slot
                    && let Poll::Ready(v) = f.as_mut().poll(cx)
                {
                    *out = Some(v);
                    *slot = None;
                }
            }
            if pending.iter().all(Option::is_none) {
                Poll::Ready(
                    done.iter_mut()
                        .map(|o| o.take().expect("every future finished"))
                        .collect(),
                )
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use imp::reset_clock;
