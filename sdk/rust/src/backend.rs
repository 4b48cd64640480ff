//! The one seam between the SDK's facades and what answers them: the `tollgate:plugin` imports
//! inside a component, natively the [`MockHost`](crate::testing::MockHost) running on this thread.
//!
//! `imports` and `http` reach the host only through here and `testing` imports neither, so the
//! arrows point one way: facades → backend → (WIT bindings | `testing::host`). Each module
//! below has the signatures of its WIT interface on both targets.

#[cfg(target_arch = "wasm32")]
pub(crate) use crate::bindings::tollgate::plugin::{artifacts, github, log, outputs, secrets, summary, tls};

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::MockRequest;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::host::{artifacts, exchange, github, log, outputs, secrets, summary, tls};
