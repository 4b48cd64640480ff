//! The command line: flags, parsed in two stages (clap's raw arguments, then a validated
//! [`StepRequest`]), and the commands that run on them.

use crate::artifacts::{ArtifactConfig, ArtifactOptions, read_key_file};
use crate::error::{Error, ExitCode, Result};
use crate::events::{Collect, Sink};
use crate::runner::{self, Mode, Printer};
use crate::sandbox::capabilities::{GrantLists, Grants};
use crate::sandbox::inputs::Given;
use crate::sandbox::runtime::{CodeSource, Limits, Runtime};
use crate::sources::{PluginRef, builtin};
use crate::step::{self, StepRequest};
use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tollgate_vocab::{GithubPermission, OriginPattern};

const EXIT_CODES: &str = "\
Exit codes:
  0  success: the step ran and passed
  1  the step ran and failed: a check failed, the plugin returned an error, a limit was hit
  2  usage or configuration error: bad flag or input, missing grant, digest mismatch, unreadable plugin
  3  the step ran and could not decide (inconclusive, e.g. a canary analysis without enough data)";

/// Run sandboxed WebAssembly plugins as CI steps.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one plugin as a step.
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// Run the step described by the action's `INPUT_*` variables (used by action.yml).
    #[command(after_help = EXIT_CODES)]
    Action,
    /// List or describe plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run a pipeline file.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// Write an ed25519 key pair for signing artifacts (PREFIX.key and PREFIX.pub).
    Keygen {
        /// Path prefix of the two files.
        #[arg(long, default_value = "tollgate")]
        out: PathBuf,
    },
    /// Verify an artifact: its digest, its signature and its subject.
    #[command(after_help = "Exit codes: 0 verified; 1 verification failed; 2 usage error.")]
    Verify(VerifyArgs),
}

/// `tollgate pipeline …`
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Validate the whole file, then run its steps and `finally:` steps.
    #[command(after_help = EXIT_CODES)]
    Run(PipelineArgs),
}

/// Flags of `tollgate pipeline run`.
#[derive(Debug, Args, Default)]
pub struct PipelineArgs {
    /// The pipeline file (see schema/pipeline.schema.json).
    pub file: PathBuf,
    /// A pipeline input, `NAME=VALUE` (VALUE is YAML).
    #[arg(long = "input", value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// Print the steps and the grants each gets, then stop.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Cancel the steps after this long (e.g. `30m`); `finally:` still runs.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub timeout: Option<Duration>,
    /// Secrets steps may be granted (`allow.secrets`); values come from the environment.
    #[arg(long = "secret", value_name = "NAME")]
    pub secrets: Vec<String>,
    /// Trust this PEM CA certificate for plugin HTTPS.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Artifact store and keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `tollgate verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A file (its envelope is FILE.dsse.json unless --envelope says otherwise), or a name or
    /// `sha256:HEX` in the artifact store.
    pub artifact: String,
    /// The DSSE envelope of a file artifact.
    #[arg(long)]
    pub envelope: Option<PathBuf>,
    /// Artifact store and keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Require this subject name.
    #[arg(long = "expect-subject", value_name = "NAME")]
    pub expect_subject: Option<String>,
    /// Print a JSON report.
    #[arg(long)]
    pub json: bool,
}

/// Where artifacts live and which keys sign and verify them.
#[derive(Debug, Args, Default, Clone)]
pub struct KeyArgs {
    /// The artifact store [default: $RUNNER_TEMP/tollgate/artifacts under Actions, else .tollgate/artifacts].
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Private key (PEM) that signs artifacts; or the PEM text in TOLLGATE_SIGNING_KEY.
    #[arg(long = "signing-key", value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// Trusted public key (PEM); or the PEM text in TOLLGATE_PUBLIC_KEY.
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,
    /// Accept unsigned artifacts (they are still checked against their digests).
    #[arg(long = "allow-unsigned")]
    pub allow_unsigned: bool,
}

impl KeyArgs {
    /// Resolve flags and `TOLLGATE_*` key variables into artifact options.
    pub fn options(&self) -> Result<ArtifactOptions> {
        let signing_key = match &self.signing_key {
            Some(path) => Some(read_key_file("--signing-key", path)?),
            None => std::env::var("TOLLGATE_SIGNING_KEY")
                .ok()
                .filter(|k| !k.trim().is_empty()),
        };
        let mut public_keys = self
            .public_keys
            .iter()
            .map(|p| read_key_file("--public-key", p))
            .collect::<Result<Vec<_>>>()?;
        if let Some(pem) = std::env::var("TOLLGATE_PUBLIC_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
        {
            public_keys.push(pem);
        }
        Ok(ArtifactOptions {
            dir: self.artifacts.clone().unwrap_or_else(runner::default_artifacts_dir),
            signing_key,
            public_keys,
            allow_unsigned: self.allow_unsigned,
        })
    }
}

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
    },
    /// Write a new plugin project in ./NAME: one input, one output, tests, build files.
    New {
        /// The plugin's name: lower-case letters, digits and dashes.
        name: String,
        /// The language to write it in.
        #[arg(long, value_enum, default_value = "rust")]
        lang: crate::authoring::Lang,
        /// Where to create the project directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// A Rust project depends on the SDK at this path (a Tollgate checkout's
        /// `plugins/sdk`) [default: the checkout this tollgate was built from, if it is
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
    },
}

/// Flags of `tollgate run` (and of the action's single-plugin form).
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// `NAME`, `builtin:NAME`, `./path.wasm`, `https://…#sha256=HEX` (the pin is required for URLs)
    /// or `oci://HOST/NAME@sha256:HEX` (a registry, pinned by manifest digest).
    pub plugin: String,
    /// An input, `NAME=VALUE`; VALUE is YAML unless the input is a string.
    #[arg(long = "with", value_name = "NAME=VALUE")]
    pub with: Vec<String>,
    /// Allow outbound HTTP to an origin: `scheme://host[:port]`, `*` wildcards (`https://*.example.com`, `http://127.0.0.1:*`).
    #[arg(long = "allow-net", value_name = "ORIGIN", value_parser = origin_arg)]
    pub allow_net: Vec<OriginPattern>,
    /// Let the plugin read this directory (seen at its absolute path).
    #[arg(long = "allow-read", value_name = "DIR")]
    pub allow_read: Vec<PathBuf>,
    /// Let the plugin read and write this directory.
    #[arg(long = "allow-write", value_name = "DIR")]
    pub allow_write: Vec<PathBuf>,
    /// Grant the secret NAME; its value comes from the environment variable NAME and is masked everywhere.
    #[arg(long = "secret", value_name = "NAME")]
    pub secrets: Vec<String>,
    /// Grant a GitHub permission, e.g. `pull-requests:write`.
    #[arg(long = "allow-github", value_name = "PERMISSION", value_parser = permission_arg)]
    pub allow_github: Vec<GithubPermission>,
    /// Wall-clock limit of the step (`describe` included), e.g. `30s`, `10m`.
    #[arg(long, value_name = "DURATION", default_value = tollgate_vocab::defaults::DEFAULT_TIMEOUT_TEXT, value_parser = duration_arg)]
    pub timeout: Duration,
    /// Memory limit of the plugin (`describe` included), e.g. `256MiB`.
    #[arg(long, value_name = "SIZE", default_value = tollgate_vocab::defaults::DEFAULT_MEMORY_TEXT, value_parser = size_arg)]
    pub memory: u64,
    /// Pin a host to an address for plugin connections, like curl: `HOST:PORT:ADDR`.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Trust this PEM CA certificate for plugin HTTPS (besides Mozilla's roots).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Artifact store and keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    /// Whether the command asked for a JSON report.
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Run(args) => args.json,
            Command::Pipeline(PipelineCommand::Run(args)) => args.json,
            Command::Plugin(PluginCommand::List { json } | PluginCommand::Describe { json, .. }) => *json,
            Command::Verify(args) => args.json,
            Command::Plugin(
                PluginCommand::New { .. }
                | PluginCommand::Build { .. }
                | PluginCommand::Test { .. }
                | PluginCommand::Compile { .. }
                | PluginCommand::Publish { .. },
            )
            | Command::Action
            | Command::Keygen { .. } => false,
        }
    }
}

/// clap's parser for durations: the one spelling in `tollgate-vocab`.
fn duration_arg(text: &str) -> std::result::Result<Duration, String> {
    tollgate_vocab::duration::parse_duration(text).map_err(|e| e.reason)
}

/// clap's parser for origins: the one spelling in `tollgate-vocab`.
fn origin_arg(text: &str) -> std::result::Result<OriginPattern, String> {
    OriginPattern::parse(text).map_err(|e| e.reason)
}

/// clap's parser for GitHub permissions: the one spelling in `tollgate-vocab`.
fn permission_arg(text: &str) -> std::result::Result<GithubPermission, String> {
    GithubPermission::parse(text).map_err(|e| e.reason)
}

/// clap's parser for sizes: the one spelling in `tollgate-vocab`.
fn size_arg(text: &str) -> std::result::Result<u64, String> {
    tollgate_vocab::size::parse_size(text).map_err(|e| e.reason)
}

/// Run a parsed command line; the error carries the exit code.
pub async fn execute(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => {
            let mode = Mode::detect(args.json);
            let inputs = with_flags(&args.with)?;
            run_step(mode, request(&args, inputs)?).await
        }
        Command::Action => match runner::action_input("pipeline") {
            Some(file) => {
                let (args, given) = action_pipeline_args(file)?;
                run_pipeline(Mode::Actions, args, given).await
            }
            None => {
                let (args, inputs) = action_args()?;
                run_step(Mode::Actions, request(&args, inputs)?).await
            }
        },
        Command::Pipeline(PipelineCommand::Run(args)) => {
            let mode = Mode::detect(args.json);
            let given = input_flags(&args.inputs)?;
            run_pipeline(mode, args, given).await
        }
        Command::Plugin(PluginCommand::List { json }) => list(json),
        Command::Plugin(PluginCommand::Describe { plugin, json }) => describe(&plugin, json).await,
        Command::Plugin(PluginCommand::New {
            name,
            lang,
            dir,
            sdk_path,
        }) => new_project(&name, lang, &dir, sdk_path.as_deref()),
        Command::Plugin(PluginCommand::Build { dir }) => build_project(&dir).await.map(|_| ExitCode::Success),
        Command::Plugin(PluginCommand::Test { dir, wasm }) => test_project(&dir, wasm).await,
        Command::Plugin(PluginCommand::Compile { plugins }) => compile(&plugins).await,
        Command::Plugin(PluginCommand::Publish { component, reference }) => publish(&component, &reference).await,
        Command::Keygen { out } => keygen(&out),
        Command::Verify(args) => verify(&args),
    }
}

async fn run_step(mode: Mode, request: StepRequest) -> Result<ExitCode> {
    runner::mask_secrets(mode, request.secret_values.values().cloned());
    runner::mask_secrets(mode, request.github.iter().filter_map(|g| g.token.clone()));
    let runtime = Runtime::new(step::default_cache_dir())?;
    let printer = Arc::new(Printer::new(mode));
    printer.set_plugin(&request.plugin.display_name());
    let result = step::run(&runtime, request, printer).await?;
    runner::report(mode, &result)?;
    Ok(result.exit_code())
}

async fn run_pipeline(mode: Mode, args: PipelineArgs, given: BTreeMap<String, Value>) -> Result<ExitCode> {
    let pipeline = crate::pipeline::load(&args.file)?;
    if args.dry_run {
        runner::print_text(&crate::pipeline::dry_run(&pipeline));
        return Ok(ExitCode::Success);
    }
    let secret_values = runner::secret_values(&args.secrets);
    runner::mask_secrets(mode, secret_values.values().cloned());
    let github = runner::github_config()?;
    runner::mask_secrets(mode, github.token.clone());
    let env = crate::pipeline::PipelineEnv {
        runtime: Arc::new(Runtime::new(step::default_cache_dir())?),
        sinks: Arc::new(move |label: &str| Arc::new(Printer::for_step(mode, label)) as Arc<dyn Sink>),
        artifacts: Arc::new(ArtifactConfig::new(&args.keys.options()?)?),
        tls: crate::sandbox::net::tls_config(&args.ca_certs).map_err(|e| Error::invalid("--ca-cert", "", e))?,
        context: runner::context(pipeline.name.as_deref().unwrap_or("pipeline")),
        secret_values,
        github,
    };
    let result = crate::pipeline::run(&pipeline, &env, given, args.timeout).await?;
    runner::report_pipeline(mode, &result)?;
    Ok(result.exit_code())
}

/// `--with NAME=VALUE` flags: text, typed against the plugin's inputs once it is described.
fn with_flags(pairs: &[String]) -> Result<BTreeMap<String, Given>> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = split_pair("--with", pair)?;
            Ok((name, Given::Text(value.to_string())))
        })
        .collect()
}

/// `--input NAME=VALUE` flags of a pipeline: VALUE is YAML.
fn input_flags(pairs: &[String]) -> Result<BTreeMap<String, Value>> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = split_pair("--input", pair)?;
            let value = serde_yaml_ng::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
            Ok((name, value))
        })
        .collect()
}

fn split_pair<'a>(flag: &'static str, pair: &'a str) -> Result<(String, &'a str)> {
    let (name, value) = pair
        .split_once('=')
        .ok_or_else(|| Error::invalid(flag, pair, "write `NAME=VALUE`"))?;
    Ok((name.trim().to_string(), value))
}

/// A YAML mapping given as an action input (`with:`, `inputs:`), values kept typed.
fn action_mapping(name: &'static str) -> Result<BTreeMap<String, Value>> {
    let Some(text) = runner::action_input(name) else {
        return Ok(BTreeMap::new());
    };
    serde_yaml_ng::from_str::<Option<BTreeMap<String, Value>>>(&text)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            Error::invalid(
                "action input",
                name,
                format!("{e}; write a YAML mapping of input names to values"),
            )
        })
}

/// An action input in the vocabulary's spelling, or its default.
fn action_typed<T>(
    name: &'static str,
    parse: fn(&str) -> std::result::Result<T, tollgate_vocab::Invalid>,
) -> Result<Option<T>> {
    runner::action_input(name)
        .map(|text| parse(text.trim()).map_err(Error::from))
        .transpose()
}

/// A list-valued action input, each item in the vocabulary's spelling.
fn action_items<T>(
    name: &'static str,
    parse: fn(&str) -> std::result::Result<T, tollgate_vocab::Invalid>,
) -> Result<Vec<T>> {
    runner::action_list(name)
        .iter()
        .map(|item| parse(item).map_err(Error::from))
        .collect()
}

/// The action's inputs for a pipeline run: `inputs` (a YAML mapping) and `timeout`, the
/// whole pipeline's limit.
fn action_pipeline_args(file: String) -> Result<(PipelineArgs, BTreeMap<String, Value>)> {
    let args = PipelineArgs {
        file: PathBuf::from(file),
        secrets: runner::action_list("secrets"),
        timeout: action_typed("timeout", tollgate_vocab::duration::parse_duration)?,
        ..PipelineArgs::default()
    };
    Ok((args, action_mapping("inputs")?))
}

/// Validate raw flags into a step request.
pub fn request(args: &RunArgs, inputs: BTreeMap<String, Given>) -> Result<StepRequest> {
    let plugin = PluginRef::parse(&args.plugin)?;
    let paths = |dirs: &[PathBuf]| dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>();
    let (read, write) = (paths(&args.allow_read), paths(&args.allow_write));
    let lists = GrantLists {
        net: &args.allow_net,
        read: &read,
        write: &write,
        secrets: &args.secrets,
        github: &args.allow_github,
    };
    let grants = Grants::new(&lists, Path::new("."))?;
    let tls = crate::sandbox::net::tls_config(&args.ca_certs).map_err(|e| Error::invalid("--ca-cert", "", e))?;
    Ok(StepRequest {
        context: runner::context(&plugin.display_name()),
        plugin,
        inputs,
        grants,
        secret_values: runner::secret_values(&args.secrets),
        limits: Limits {
            timeout: args.timeout,
            memory: args.memory,
        },
        resolve: args
            .resolve
            .iter()
            .map(|r| parse_resolve(r))
            .collect::<Result<HashMap<_, _>>>()?,
        tls,
        artifacts: step_artifacts(&args.keys)?,
        github: Some(runner::github_config()?),
    })
}

/// A single step stores artifacts where it was told to (`--artifacts DIR`) or on a
/// runner; a bare local run has no store, so a plugin cannot litter the working directory.
fn step_artifacts(keys: &KeyArgs) -> Result<Option<Arc<ArtifactConfig>>> {
    if keys.artifacts.is_none() && !runner::env::under_actions() {
        return Ok(None);
    }
    Ok(Some(Arc::new(ArtifactConfig::new(&keys.options()?)?)))
}

fn parse_resolve(text: &str) -> Result<((String, u16), IpAddr)> {
    let invalid = || {
        Error::invalid(
            "--resolve",
            text,
            "write `HOST:PORT:ADDR`, e.g. `api.test:443:127.0.0.1`",
        )
    };
    let (host, rest) = text.split_once(':').ok_or_else(invalid)?;
    let (port, addr) = rest.split_once(':').ok_or_else(invalid)?;
    let port = port.parse().map_err(|_| invalid())?;
    let addr = addr.trim_matches(['[', ']']).parse().map_err(|_| invalid())?;
    Ok(((tollgate_vocab::origin::normalize_host(host), port), addr))
}

/// The action's inputs as run flags, and its `with:` mapping as typed inputs.
fn action_args() -> Result<(RunArgs, BTreeMap<String, Given>)> {
    let plugin = runner::action_input("plugin")
        .ok_or_else(|| Error::invalid("action input", "plugin", "the `plugin` input is required"))?;
    let args = RunArgs {
        plugin,
        allow_net: action_items("allow-net", OriginPattern::parse)?,
        allow_read: runner::action_list("allow-read")
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        allow_write: runner::action_list("allow-write")
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        secrets: runner::action_list("secrets"),
        allow_github: action_items("allow-github", GithubPermission::parse)?,
        timeout: action_typed("timeout", tollgate_vocab::duration::parse_duration)?
            .unwrap_or(tollgate_vocab::defaults::DEFAULT_TIMEOUT),
        memory: action_typed("memory", tollgate_vocab::size::parse_size)?
            .unwrap_or(tollgate_vocab::defaults::DEFAULT_MEMORY),
        ..RunArgs::default()
    };
    let inputs = action_mapping("with")?
        .into_iter()
        .map(|(name, value)| (name, Given::Value(value)))
        .collect();
    Ok((args, inputs))
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

async fn describe(plugin: &str, json: bool) -> Result<ExitCode> {
    let plugin = PluginRef::parse(plugin)?;
    let runtime = Runtime::new(step::default_cache_dir())?;
    let sink: Arc<dyn Sink> = Arc::new(Collect::default());
    let tls = crate::sandbox::net::tls_config(&[]).map_err(Error::Runtime)?;
    let (loaded, info) = step::load(&runtime, &plugin, tls, sink, Limits::default()).await?;
    runner::describe::print(&info, &loaded.digest, json);
    Ok(ExitCode::Success)
}

fn new_project(name: &str, lang: crate::authoring::Lang, dir: &Path, sdk: Option<&Path>) -> Result<ExitCode> {
    let root = crate::authoring::project::new(name, lang, dir, sdk)?;
    let shown = root.display();
    runner::print_text(&format!(
        "created {shown}\n\nnext:\n  cd {shown}\n  {}tollgate plugin test     # builds {name}.wasm and runs tollgate-tests.yaml\n  tollgate run ./{name}.wasm --with name=Ada\n",
        match lang {
            crate::authoring::Lang::Rust => "cargo test               # in-process, against the SDK's mock host\n  ",
            crate::authoring::Lang::Python => "",
            crate::authoring::Lang::Js => "npm install              # the pinned componentize-js\n  ",
        }
    ));
    Ok(ExitCode::Success)
}

async fn build_project(dir: &Path) -> Result<(Runtime, crate::authoring::Built)> {
    let runtime = Runtime::new(step::default_cache_dir())?;
    let sink: Arc<dyn Sink> = Arc::new(Printer::new(Mode::detect(false)));
    let built = crate::authoring::project::build(&runtime, dir, sink).await?;
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
    let cases = crate::authoring::cases::load(dir)?;
    let (runtime, wasm) = match wasm {
        Some(wasm) => (Runtime::new(step::default_cache_dir())?, wasm),
        None => {
            let (runtime, built) = build_project(dir).await?;
            (runtime, built.wasm)
        }
    };
    let results = crate::authoring::cases::run(&runtime, &wasm, &cases, dir).await?;
    runner::print_case_results(&results);
    Ok(match results.iter().all(|r| r.failures.is_empty()) {
        true => ExitCode::Success,
        false => ExitCode::Failure,
    })
}

async fn publish(component: &Path, reference: &str) -> Result<ExitCode> {
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
    let (_, info) = step::load(&runtime, &plugin, tls.clone(), sink, Limits::default()).await?;
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

async fn compile(plugins: &[String]) -> Result<ExitCode> {
    let runtime = Runtime::new(step::default_cache_dir())?;
    let tls = crate::sandbox::net::tls_config(&[]).map_err(Error::Runtime)?;
    for text in plugins {
        let plugin = PluginRef::parse(text)?;
        let started = std::time::Instant::now();
        let fetched = crate::sources::fetch(&plugin, runtime.cache_dir(), tls.clone()).await?;
        let loaded = runtime.load(&plugin.display_name(), &fetched.bytes, &fetched.digest)?;
        let done = match &loaded.code {
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
        runner::print_text(&format!("{text}: {} {done}\n", loaded.digest));
    }
    Ok(ExitCode::Success)
}

fn keygen(prefix: &std::path::Path) -> Result<ExitCode> {
    let signer = tollgate_attest::Signer::generate().map_err(|e| Error::Runtime(e.to_string()))?;
    let key_path = prefix.with_extension("key");
    let pub_path = prefix.with_extension("pub");
    for path in [&key_path, &pub_path] {
        if path.exists() {
            return Err(Error::invalid(
                "--out",
                path.display().to_string(),
                "exists; remove it or pick another --out",
            ));
        }
    }
    write_private(&key_path, &signer.to_pem())?;
    std::fs::write(&pub_path, signer.public().to_pem()).map_err(|e| Error::io(&pub_path, e))?;
    runner::print_text(&format!(
        "wrote {} (secret) and {}\nkey id: {}\nstore the private key as the secret TOLLGATE_SIGNING_KEY; \
         give verifiers the public key (--public-key or TOLLGATE_PUBLIC_KEY)",
        key_path.display(),
        pub_path.display(),
        signer.keyid()
    ));
    Ok(ExitCode::Success)
}

fn write_private(path: &std::path::Path, pem: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(pem.as_bytes()).map_err(|e| Error::io(path, e))
}

fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let config = ArtifactConfig::new(&args.keys.options()?)?;
    let mut policy = config.policy.clone();
    policy.expect_subject = args.expect_subject.clone();
    let file = std::path::Path::new(&args.artifact);
    let result = if file.is_file() {
        let envelope_path = args.envelope.clone().unwrap_or_else(|| {
            let mut p = file.as_os_str().to_owned();
            p.push(".dsse.json");
            PathBuf::from(p)
        });
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let envelope = std::fs::read(&envelope_path).map_err(|e| Error::io(&envelope_path, e))?;
        tollgate_attest::verify(&bytes, &envelope, &policy).map(|v| (v.subject, v.digest, v.keyid, v.statement))
    } else {
        config
            .store
            .get(&args.artifact, &policy)
            .map(|a| (a.name, a.digest, a.signed_by, a.statement))
    };
    match result {
        Ok((subject, digest, keyid, statement)) => {
            if args.json {
                runner::print_json(
                    &serde_json::json!({"verified": true, "subject": subject, "digest": digest, "keyid": keyid, "statement": statement}),
                );
            } else {
                let predicate = &statement["predicate"];
                let field = |v: &Value| v.as_str().unwrap_or("?").to_string();
                let signer = match keyid {
                    Some(k) => format!("signed by {k}"),
                    None => "UNSIGNED (accepted because of --allow-unsigned)".into(),
                };
                runner::print_text(&format!(
                    "verified {subject} {digest}\n  {signer}\n  produced by {} {} ({}), outcome {}",
                    field(&predicate["plugin"]["name"]),
                    field(&predicate["plugin"]["version"]),
                    field(&predicate["plugin"]["digest"]),
                    field(&predicate["outcome"]),
                ));
            }
            Ok(ExitCode::Success)
        }
        Err(e) => {
            if args.json {
                runner::print_json(&serde_json::json!({"verified": false, "error": e.to_string()}));
            }
            runner::print_error(&format!("verification failed: {e}"));
            Ok(ExitCode::Failure)
        }
    }
}
