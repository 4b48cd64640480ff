//! The wasm runtime: one wasmtime engine and linker per process, the on-disk cache of
//! compiled components, and the store each step runs in (WASI context, limits, imports).
//!
//! Architecture invariant: this is the only module that names wasmtime's engine,
//! store and linker types; the rest of the host speaks in [`Loaded`], [`StepSetup`]
//! and [`RunOutcome`].

use crate::bindings::tollgate::plugin::types::{Input, PluginError, PluginInfo, RunReport, StepContext};
use crate::bindings::{Plugin, PluginPre};
use crate::error::{Error, Result};
use crate::sandbox::capabilities::DirGrant;
use crate::sandbox::imports::StepIo;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How often the epoch ticks; the granularity of `--timeout`.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// What a plugin may print to its own stdout/stderr (logged at debug level).
const MAX_STDIO_BYTES: usize = 1 << 20;
/// Resource handles (HTTP fields, requests, streams, pollables…) one step may hold at
/// once: each costs host memory that wasm's linear-memory limit does not see.
pub const MAX_RESOURCES: usize = 2048;
/// Size of one mutable `wasi:http` fields resource (its in-memory form, ~4× the wire
/// size): with [`MAX_RESOURCES`], at most 64 MiB of host memory in header maps.
pub const MAX_FIELDS_BYTES: usize = 32 << 10;

/// Resource limits of one step; `describe` runs under the same ones.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall clock.
    pub timeout: Duration,
    /// Linear memory, in bytes.
    pub memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: tollgate_vocab::defaults::DEFAULT_TIMEOUT,
            memory: tollgate_vocab::defaults::DEFAULT_MEMORY,
        }
    }
}

/// A compiled plugin, ready to instantiate.
#[derive(Clone)]
pub struct Loaded {
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// Where its native code came from.
    pub code: CodeSource,
    pre: PluginPre<StepState>,
    /// The inputs it declares sensitive (`sandbox::sensitive`): digested and masked.
    pub sensitive: Vec<String>,
    /// What it answered to `describe` (a function of the component alone), kept so a
    /// pipeline instantiates a plugin once per step rather than twice.
    described: std::sync::Arc<std::sync::OnceLock<PluginInfo>>,
}

/// Where a loaded component's native code came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// Compiled now (and stored in the cache, when there is one).
    Compiled,
    /// The compiled-component cache.
    Cached(PathBuf),
    /// Shipped beside the binary (a release's builtins), see [`Runtime::new`].
    Precompiled(PathBuf),
}

impl CodeSource {
    /// The entry it was read from.
    pub fn entry(&self) -> Option<&Path> {
        match self {
            Self::Compiled => None,
            Self::Cached(entry) | Self::Precompiled(entry) => Some(entry),
        }
    }
}

/// Everything a step's store needs besides the component.
pub struct StepSetup {
    /// The imports' state.
    pub io: StepIo,
    /// Directories to preopen.
    pub dirs: Vec<DirGrant>,
    /// Time and memory.
    pub limits: Limits,
}

/// How a `run` ended, with what the step produced either way.
pub struct RunOutcome {
    /// The plugin's answer, or why there is none (trap, limit).
    pub result: Result<Result<RunReport, PluginError>>,
    /// The step's I/O state after the run: outputs, summary, artifacts.
    pub io: StepIo,
    /// What the plugin wrote to its own stdout and stderr.
    pub stdio: String,
}

/// Store data of one step.
pub struct StepState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    io: StepIo,
    limiter: MemoryLimiter,
}

impl WasiView for StepState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StepState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.io.net,
        }
    }
}

/// Caps linear memory and remembers that it did, because the resulting error is not a
/// `Trap` that could be recognised afterwards.
struct MemoryLimiter {
    max: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.hit = true;
            return Err(wasmtime::format_err!("memory limit of {} bytes exceeded", self.max));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The engine, linker and compiled-component cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<StepState>,
    cache_dir: Option<PathBuf>,
    /// `precompiled/` beside the executable: entries named as in the cache, read only.
    precompiled: Option<PathBuf>,
    /// What every entry's name ends with: this engine's configuration and Tollgate's version.
    entry_suffix: String,
    /// Components already linked in this process (a pipeline reuses plugins), by digest.
    loaded: std::sync::Mutex<std::collections::HashMap<String, Loaded>>,
}

impl Runtime {
    /// A runtime caching compiled components in `cache_dir` (none: compile every time).
    ///
    /// Components are also looked up, read only, in a `precompiled/` directory beside the
    /// executable: a release ships its builtins there (`tollgate plugin compile` into it), so
    /// a fresh runner's first step compiles nothing.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        pin_cpu_features(&mut config)?;
        let engine = Engine::new(&config).map_err(Error::Wasmtime)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::Wasmtime)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(Error::Wasmtime)?;
        Plugin::add_to_linker::<_, HasSelf<StepIo>>(&mut linker, |s: &mut StepState| &mut s.io)
            .map_err(Error::Wasmtime)?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("tollgate-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| Error::Runtime(format!("cannot start the epoch ticker: {e}")))?;
        let precompiled = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join("precompiled")));
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        let entry_suffix = format!("-{:016x}.cwasm", hasher.finish());
        Ok(Self {
            engine,
            linker,
            cache_dir,
            precompiled,
            entry_suffix,
            loaded: Default::default(),
        })
    }

    /// Where compiled components (and downloaded plugins) are cached.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// Compile `bytes` (or load them from the cache) and link them against the host.
    pub fn load(&self, name: &str, bytes: &[u8], digest: &str) -> Result<Loaded> {
        if let Some(loaded) = self.loaded.lock().ok().and_then(|m| m.get(digest).cloned()) {
            return Ok(loaded);
        }
        let (component, code) = self.compile_cached(name, bytes, digest)?;
        // After the compile (or the cache), which says plainly what is wrong with bytes that are no
        // component at all.
        let sensitive = crate::sandbox::sensitive::declared(bytes).map_err(|reason| Error::InvalidPlugin {
            plugin: name.to_string(),
            reason,
        })?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| Error::InvalidPlugin {
                plugin: name.to_string(),
                reason: format!("it imports something Tollgate does not provide: {e:#}"),
            })?;
        let pre = PluginPre::new(instance_pre).map_err(|e| Error::InvalidPlugin {
            plugin: name.to_string(),
            reason: format!("it does not export the tollgate:plugin world: {e:#}"),
        })?;
        let loaded = Loaded {
            digest: digest.to_string(),
            code,
            pre,
            sensitive,
            described: Default::default(),
        };
        if let Ok(mut cache) = self.loaded.lock() {
            cache.insert(digest.to_string(), loaded.clone());
        }
        Ok(loaded)
    }

    /// The cache file of a compiled component: named by the component's digest and a hash
    /// of this engine's configuration and Tollgate's version, so a workflow caching the
    /// directory never loads a stale entry.
    pub fn cache_entry(&self, digest: &str) -> Option<PathBuf> {
        Some(self.cache_dir.as_ref()?.join(self.entry_name(digest)))
    }

    /// An entry's file name: the same in the cache and in `precompiled/`.
    fn entry_name(&self, digest: &str) -> String {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        format!("{hex}{}", self.entry_suffix)
    }

    fn compile_cached(&self, name: &str, bytes: &[u8], digest: &str) -> Result<(Component, CodeSource)> {
        let name_on_disk = self.entry_name(digest);
        let path = self.cache_dir.as_ref().map(|dir| dir.join(&name_on_disk));
        let stored = [
            path.clone().map(CodeSource::Cached),
            self.precompiled
                .as_ref()
                .map(|dir| CodeSource::Precompiled(dir.join(&name_on_disk))),
        ];
        for (source, entry) in stored.iter().flatten().filter_map(|s| Some((s, s.entry()?))) {
            if !entry.exists() {
                continue;
            }
            // SAFETY: the cache directory belongs to the user running Tollgate, and
            // `precompiled/` to whoever installed this executable beside it; entries are
            // written atomically by `store_in_cache`, and are keyed by the component's digest
            // and this engine's configuration. A damaged entry fails to deserialize and is
            // recompiled below.
            if let Ok(component) = unsafe { Component::deserialize_file(&self.engine, entry) } {
                return Ok((component, source.clone()));
            }
        }
        // Checked before compiling, so a plugin importing what Tollgate does not provide is
        // refused by name rather than after a compile. A cached entry passed this check when
        // it was compiled, and the linker below refuses anything it does not provide anyway.
        crate::sandbox::provided::check(name, bytes)?;
        let component = Component::new(&self.engine, bytes).map_err(|e| Error::InvalidPlugin {
            plugin: name.to_string(),
            reason: format!("it is not a WebAssembly component: {e:#}"),
        })?;
        if let Some(path) = path {
            // A cache we cannot write only costs time on the next run.
            let _ = store_in_cache(&component, &path);
        }
        Ok((component, CodeSource::Compiled))
    }

    fn store(&self, io: StepIo, wasi: WasiCtx, limits: Limits) -> Store<StepState> {
        let max = usize::try_from(limits.memory).unwrap_or(usize::MAX);
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(MAX_FIELDS_BYTES);
        let mut store = Store::new(
            &self.engine,
            StepState {
                table,
                wasi,
                http,
                io,
                limiter: MemoryLimiter { max, hit: false },
            },
        );
        store.limiter(|s| &mut s.limiter);
        let ticks = limits.timeout.as_millis() / EPOCH_TICK.as_millis();
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX).max(1));
        store.epoch_deadline_trap();
        store
    }

    /// Call `describe` with no capabilities at all, under the step's own limits.
    pub async fn describe(&self, plugin: &Loaded, io: StepIo, limits: Limits) -> Result<PluginInfo> {
        if let Some(info) = plugin.described.get() {
            return Ok(info.clone());
        }
        let name = io.plugin.clone();
        let mut store = self.store(io, WasiCtxBuilder::new().build(), limits);
        let call = async {
            let instance = plugin.pre.instantiate_async(&mut store).await?;
            instance.call_describe(&mut store).await
        };
        match tokio::time::timeout(limits.timeout, call).await {
            Ok(Ok(info)) => Ok(plugin.described.get_or_init(|| info).clone()),
            Ok(Err(e)) => Err(classify(&name, &store, e, limits)),
            Err(_) => Err(Error::Timeout {
                plugin: name,
                limit: humantime::format_duration(limits.timeout).to_string(),
            }),
        }
    }

    /// Call `run` inside a store holding exactly the step's grants.
    pub async fn run(&self, plugin: &Loaded, setup: StepSetup, inputs: Vec<Input>, context: StepContext) -> RunOutcome {
        let name = setup.io.plugin.clone();
        let stdio = MemoryOutputPipe::new(MAX_STDIO_BYTES);
        let wasi = match wasi_ctx(&setup.dirs, &stdio) {
            Ok(w) => w,
            Err(e) => {
                return RunOutcome {
                    result: Err(e),
                    io: setup.io,
                    stdio: String::new(),
                };
            }
        };
        let limits = setup.limits;
        let mut io = setup.io;
        io.deadline = Some(std::time::Instant::now() + limits.timeout);
        let mut store = self.store(io, wasi, limits);
        let call = async {
            let instance = plugin.pre.instantiate_async(&mut store).await?;
            instance.call_run(&mut store, &inputs, &context).await
        };
        // Epoch interruption only fires while wasm runs; a host call (e.g. a slow HTTP
        // request) is bounded by this timer instead.
        let result = match tokio::time::timeout(limits.timeout, call).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => Err(classify(&name, &store, e, limits)),
            Err(_) => Err(Error::Timeout {
                plugin: name,
                limit: humantime::format_duration(limits.timeout).to_string(),
            }),
        };
        RunOutcome {
            result,
            io: store.into_data().io,
            stdio: String::from_utf8_lossy(&stdio.contents()).into_owned(),
        }
    }
}

fn classify(plugin: &str, store: &Store<StepState>, error: wasmtime::Error, limits: Limits) -> Error {
    let plugin = plugin.to_string();
    if store.data().limiter.hit {
        return Error::OutOfMemory {
            plugin,
            limit: bytesize::ByteSize::b(limits.memory).to_string(),
        };
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            return Error::Timeout {
                plugin,
                limit: humantime::format_duration(limits.timeout).to_string(),
            };
        }
        Some(wasmtime::Trap::StackOverflow) => return Error::StackOverflow { plugin },
        _ => {}
    }
    // wasi:http refuses an oversized header map with a trap, sometimes under context.
    let too_big = wasmtime_wasi_http::FieldMapError::TotalSizeTooBig;
    if matches!(
        error.downcast_ref(),
        Some(wasmtime_wasi_http::FieldMapError::TotalSizeTooBig)
    ) || format!("{error:#}").contains(&too_big.to_string())
    {
        return Error::ResourceLimit {
            plugin,
            what: format!(
                "an HTTP header map larger than {} (headers of one request)",
                bytesize::ByteSize::b(MAX_FIELDS_BYTES as u64)
            ),
        };
    }
    if let Some(e) = error.downcast_ref::<wasmtime::component::ResourceTableError>()
        && matches!(e, wasmtime::component::ResourceTableError::Full)
    {
        return Error::ResourceLimit {
            plugin,
            what: format!("more than {MAX_RESOURCES} resource handles (HTTP requests, fields, streams) at once"),
        };
    }
    // A trap's wasm backtrace is offsets without names: say what trapped, not where.
    let reason = match error.downcast_ref::<wasmtime::Trap>() {
        // What guest languages compile an uncaught exception, a panic and abort() to.
        Some(wasmtime::Trap::UnreachableCodeReached) => {
            "it aborted (an uncaught exception, a panic or abort(); wasm `unreachable`)".to_string()
        }
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    Error::Trap { plugin, reason }
}

/// A WASI context with no environment, no sockets, captured stdio, and the granted
/// directories preopened at their absolute host paths.
fn wasi_ctx(dirs: &[DirGrant], stdio: &MemoryOutputPipe) -> Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(stdio.clone())
        .stderr(stdio.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    for dir in dirs {
        let perms = if dir.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        let guest = dir.path.to_string_lossy();
        builder
            .preopened_dir(&dir.path, guest.as_ref(), perms)
            .map_err(|e| Error::invalid("granted directory", guest.as_ref(), format!("{e:#}")))?;
    }
    Ok(builder.build())
}

/// Compiled code uses a fixed set of CPU features rather than whatever this machine has, so
/// an entry compiled on one machine loads on any other with those features: the builtins a
/// release ships precompiled, and a cache `actions/cache` restores onto another runner's CPU.
/// On x86_64 the set is x86-64-v3 (Haswell, 2013, and every Zen), which every hosted runner
/// has; aarch64's baseline needs none. A CPU without them compiles for itself, as before: its
/// cache entries are then only its own.
fn pin_cpu_features(config: &mut Config) -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    let flags: Option<&[&str]> = {
        use std::arch::is_x86_feature_detected as has;
        let v3 = has!("cmpxchg16b")
            && has!("sse3")
            && has!("ssse3")
            && has!("sse4.1")
            && has!("sse4.2")
            && has!("popcnt")
            && has!("avx")
            && has!("avx2")
            && has!("bmi1")
            && has!("bmi2")
            && has!("lzcnt")
            && has!("fma");
        v3.then_some(&[
            "has_cmpxchg16b",
            "has_sse3",
            "has_ssse3",
            "has_sse41",
            "has_sse42",
            "has_popcnt",
            "has_avx",
            "has_avx2",
            "has_bmi1",
            "has_bmi2",
            "has_lzcnt",
            "has_fma",
        ])
    };
    #[cfg(target_arch = "aarch64")]
    let flags: Option<&[&str]> = Some(&[]);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let flags: Option<&[&str]> = None;
    let Some(flags) = flags else {
        return Ok(());
    };
    // An explicit target turns off wasmtime's detection of this CPU's features.
    config
        .target(&target_lexicon::HOST.to_string())
        .map_err(Error::Wasmtime)?;
    for flag in flags {
        // SAFETY: the float-ABI hazard this guards against concerns soft-float hosts, and
        // every flag here names a feature this CPU was just seen to have (wasmtime checks
        // them against the host again before it runs code compiled with them).
        unsafe {
            config.cranelift_flag_enable(flag);
        }
    }
    Ok(())
}

fn store_in_cache(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
