//! `tollgate plugin …`: list and describe plugins, and the authoring commands (`new`,
//! `build`, `test`, `compile`, `publish`) over [`crate::authoring`].

use super::args::InspectLimits;
use crate::authoring::{self, Lang};
use crate::error::{Error, ExitCode, Result};
use crate::events::{Collect, Sink};
use crate::runner::{self, Mode, Printer};
use crate::sandbox::runtime::{Limits, Runtime};
use crate::sources::{PluginRef, builtin};
use crate::step;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `tollgate plugin …`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the builtin plugins.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a plugin's inputs, outputs and requested capabilities.
    Describe {
        /// `NAME`, `builtin:NAME`, `./path.wasm` or `https://…#sha256=HEX`.
        plugin: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Its `describe`'s limits.
        #[command(flatten)]
        limits: InspectLimits,
    },
    /// Write a new plugin project in ./NAME: one input, one output, tests, build files.
    New {
        /// The plugin's name: lower-case letters, digits and dashes.
        name: String,
        /// The language to write it in.
        #[arg(long, value_enum, default_value = "rust")]
        lang: Lang,
        /// Where to create the project directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// A Rust project depends on the SDK at this path (a Tollgate checkout's
        /// `sdk/rust`) [default: the checkout this tollgate was built from, if it is
        /// still there, else crates.io].
        #[arg(long, env = "TOLLGATE_SDK_PATH")]
        sdk_path: Option<PathBuf>,
    },
    /// Build the plugin project in DIR into DIR/NAME.wasm, checked and compiled as a run would.
    Build {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Build the project, then run the cases of its tollgate-tests.yaml through the real host.
    ///
    /// Each case gives `with:` inputs, `allow:` grants (spelled as in a pipeline), `env:`
    /// values of granted secrets and what to `expect:` (`status`: passed, failed,
    /// inconclusive, skipped, invalid-input, denied or error; `outputs`; `logs`, `summary`
    /// and `error` substrings). A top-level `serve:` list of routes (`path`, `method`,
    /// `status`, `headers`, `body` or `json`) starts a local HTTP server whose origin is
    /// `${{ serve.url }}` in inputs and grants.
    Test {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Test this component instead of building the project.
        #[arg(long)]
        wasm: Option<PathBuf>,
    },
    /// Compile plugins ahead of time into the cache, so a step's first run does not pay
    /// for it (cache it in a workflow under the directory this prints).
    Compile {
        /// `NAME`, `builtin:NAME`, `./path.wasm`, `https://…#sha256=HEX` or `oci://HOST/NAME@sha256:HEX`.
        #[arg(required = true)]
        plugins: Vec<String>,
    },
    /// Push a plugin component to an OCI registry (the layout `wkg` uses) and print the
    /// digest-pinned reference to run it by: `oci://HOST/NAME@sha256:…`.
    ///
    /// The component is loaded and described first, as a run would, so only a working plugin
    /// is published. Plain HTTP is used only for a loopback registry.
    Publish {
        /// The component, e.g. `./my-check.wasm`.
        component: PathBuf,
        /// Where: `oci://HOST[:PORT]/NAME[:TAG]` (default tag `latest`).
        reference: String,
        /// Its `describe`'s limits.
        #[command(flatten)]
        limits: InspectLimits,
    },
}

pub(super) async fn exec(command: PluginCommand) -> Result<ExitCode> {
    match command {
        PluginCommand::List { json } => list(json),
        PluginCommand::Describe { plugin, json, limits } => describe(&plugin, json, limits.limits()).await,
        PluginCommand::New {
            name,
            lang,
            dir,
            sdk_path,
        } => new_project(&name, lang, &dir, sdk_path.as_deref()),
        PluginCommand::Build { dir } => build_project(&dir).await.map(|_| ExitCode::Success),
        PluginCommand::Test { dir, wasm } => test_project(&dir, wasm).await,
        PluginCommand::Compile { plugins } => compile(&plugins).await,
        PluginCommand::Publish {
            component,
            reference,
            limits,
        } => publish(&component, &reference, limits.limits()).await,
    }
}

fn list(json: bool) -> Result<ExitCode> {
    let names: Vec<&str> = builtin::names().collect();
    if json {
        runner::print_json(&serde_json::json!(names));
    } else {
        runner::print_text(&names.iter().map(|n| format!("builtin:{n}\n")).collect::<String>());
    }
    Ok(ExitCode::Success)
}

async fn describe(plugin: &str, json: bool, limits: Limits) -> Result<ExitCode> {
    let plugin = PluginRef::parse(plugin)?;
    let runtime = Runtime::new(step::default_cache_dir())?;
    let sink: Arc<dyn Sink> = Arc::new(Collect::default());
    let tls = crate::sandbox::net::tls_config(&[]).map_err(Error::Runtime)?;
    let (loaded, info) = step::load(&runtime, &plugin, tls, sink, limits).await?;
    runner::describe::print(&info, &loaded.digest, &loaded.sensitive, json);
    Ok(ExitCode::Success)
}

fn new_project(name: &str, lang: Lang, dir: &Path, sdk: Option<&Path>) -> Result<ExitCode> {
    let root = authoring::project::new(name, lang, dir, sdk)?;
    let shown = root.display();
    runner::print_text(&format!(
        "created {shown}\n\nnext:\n  cd {shown}\n  {}tollgate plugin test     # builds {name}.wasm and runs tollgate-tests.yaml\n  tollgate run ./{name}.wasm --with name=Ada\n",
        match lang {
            Lang::Rust => "cargo test               # in-process, against the SDK's mock host\n  ",
            Lang::Python => "",
            Lang::Js => "npm install              # the pinned componentize-js\n  ",
        }
    ));
    Ok(ExitCode::Success)
}

async fn build_project(dir: &Path) -> Result<(Runtime, authoring::Built)> {
    let runtime = Runtime::new(step::default_cache_dir())?;
    let sink: Arc<dyn Sink> = Arc::new(Printer::new(Mode::detect(false)));
    let built = authoring::project::build(&runtime, dir, sink).await?;
    runner::print_text(&format!(
        "built {}: {} {}, {}, {}\n",
        built.wasm.display(),
        built.name,
        built.version,
        built.digest,
        bytesize::ByteSize(built.size),
    ));
    Ok((runtime, built))
}

async fn test_project(dir: &Path, wasm: Option<PathBuf>) -> Result<ExitCode> {
    let cases = authoring::cases::load(dir)?;
    let (runtime, wasm) = match wasm {
        Some(wasm) => (Runtime::new(step::default_cache_dir())?, wasm),
        None => {
            let (runtime, built) = build_project(dir).await?;
            (runtime, built.wasm)
        }
    };
    let results = authoring::cases::run(&runtime, &wasm, &cases, dir).await?;
    runner::print_case_results(&results);
    Ok(match results.iter().all(|r| r.failures.is_empty()) {
        true => ExitCode::Success,
        false => ExitCode::Failure,
    })
}

async fn compile(plugins: &[String]) -> Result<ExitCode> {
    let runtime = Runtime::new(step::default_cache_dir())?;
    let tls = crate::sandbox::net::tls_config(&[]).map_err(Error::Runtime)?;
    for text in plugins {
        let plugin = PluginRef::parse(text)?;
        let compiled = authoring::compile::compile(&runtime, &plugin, tls.clone()).await?;
        runner::print_text(&format!("{text}: {} {}\n", compiled.digest, compiled.how));
    }
    Ok(ExitCode::Success)
}

async fn publish(component: &Path, reference: &str, limits: Limits) -> Result<ExitCode> {
    let target = crate::sources::oci::OciRef::parse(reference).map_err(|source| Error::Oci {
        reference: reference.to_string(),
        source,
    })?;
    if target.digest().is_some() {
        return Err(Error::invalid(
            "reference",
            reference,
            "publish to a tag (`oci://HOST/NAME:TAG`); the registry gives the digest",
        ));
    }
    let plugin = PluginRef::parse(&component.display().to_string())?;
    let runtime = Runtime::new(step::default_cache_dir())?;
    let sink: Arc<dyn Sink> = Arc::new(Collect::default());
    let tls = crate::sandbox::net::tls_config(&[]).map_err(Error::Runtime)?;
    let (_, info) = step::load(&runtime, &plugin, tls.clone(), sink, limits).await?;
    let bytes = crate::sources::fetch(&plugin, None, tls.clone()).await?.bytes;
    let pinned = crate::sources::oci::publish(&target, &bytes, tls)
        .await
        .map_err(|source| Error::Oci {
            reference: reference.to_string(),
            source,
        })?;
    runner::print_text(&format!(
        "published {} {} as {target}\n{pinned}\n",
        info.name, info.version
    ));
    Ok(ExitCode::Success)
}
