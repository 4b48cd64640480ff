//! `plugin compile`: a plugin fetched and compiled ahead of time into the cache a run reads,
//! so a step's first run does not pay for compiling it.

use crate::error::Result;
use crate::sandbox::runtime::{CodeSource, Runtime};
use crate::sources::PluginRef;
use std::sync::Arc;
use std::time::Instant;

/// A plugin in the cache: its digest, and how its native code got there.
pub(crate) struct Compiled {
    pub(crate) digest: String,
    pub(crate) how: String,
}

/// Fetch `plugin` and compile it into `runtime`'s cache, unless it is already there.
pub(crate) async fn compile(runtime: &Runtime, plugin: &PluginRef, tls: Arc<rustls::ClientConfig>) -> Result<Compiled> {
    let started = Instant::now();
    let fetched = crate::sources::fetch(plugin, runtime.cache_dir(), tls).await?;
    let loaded = runtime.load(&plugin.display_name(), &fetched.bytes, &fetched.digest)?;
    let how = match &loaded.code {
        CodeSource::Compiled => format!(
            "compiled in {:.1?} -> {}",
            started.elapsed(),
            runtime
                .cache_entry(&loaded.digest)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(no cache directory: set TOLLGATE_CACHE_DIR)".into())
        ),
        CodeSource::Cached(entry) => format!("already compiled: {}", entry.display()),
        CodeSource::Precompiled(entry) => format!("shipped precompiled: {}", entry.display()),
    };
    Ok(Compiled {
        digest: loaded.digest,
        how,
    })
}
