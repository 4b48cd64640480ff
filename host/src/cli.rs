//! The command line: flags, parsed in two stages (clap's raw arguments, then a validated
//! [`StepRequest`]), and the commands that run on them.

use crate::artifacts::{ArtifactConfig, ArtifactOptions, read_key_file};
use crate::builtin;
use crate::capabilities::{GrantLists, Grants};
use crate::error::{Error, ExitCode, Result};
use crate::events::{Collect, Sink};
use crate::inputs::Given;
use crate::runner::{self, Mode, Printer};
use crate::runtime::{Limits, Runtime};
use crate::sources::PluginRef;
use crate::step::{self, StepRequest};
use clap::{Args, Parser, Subcommand};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  success: the step ran and passed
  1  the step ran and failed: a check failed, the plugin returned an error, a limit was hit
  2  usage or configuration error: bad flag or input, missing grant, digest mismatch, unreadable plugin";

/// Run sandboxed WebAssembly plugins as CI steps.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

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

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Validate the whole file, then run its steps and `finally:` steps.
    #[command(after_help = EXIT_CODES)]
    Run(PipelineArgs),
}

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
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Secrets steps may be granted (`allow.secrets`); values come from the environment.
    #[arg(long = "secret", value_name = "NAME")]
    pub secrets: Vec<String>,
    /// Trust this PEM CA certificate for plugin HTTPS.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A file (its envelope is FILE.dsse.json unless --envelope says otherwise), or a name or
    /// `sha256:HEX` in the artifact store.
    pub artifact: String,
    /// The DSSE envelope of a file artifact.
    #[arg(long)]
    pub envelope: Option<PathBuf>,
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

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the builtin plugins.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a plugin's inputs, outputs and requested capabilities.
    Describe {
        /// `NAME`, `builtin:NAME`, `./path.wasm` or `https://…#sha256=HEX`.
        plugin: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// `NAME`, `builtin:NAME`, `./path.wasm` or `https://…#sha256=HEX` (the pin is required for URLs).
    pub plugin: String,
    /// An input, `NAME=VALUE`; VALUE is YAML unless the input is a string.
    #[arg(long = "with", value_name = "NAME=VALUE")]
    pub with: Vec<String>,
    /// Allow outbound HTTP to an origin: `scheme://host[:port]`, `*` wildcards (`https://*.example.com`, `http://127.0.0.1:*`).
    #[arg(long = "allow-net", value_name = "ORIGIN")]
    pub allow_net: Vec<String>,
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
    #[arg(long = "allow-github", value_name = "PERMISSION")]
    pub allow_github: Vec<String>,
    /// Wall-clock limit of the step, e.g. `30s`, `10m`.
    #[arg(long, default_value = "10m")]
    pub timeout: String,
    /// Memory limit of the plugin, e.g. `256MiB`.
    #[arg(long, default_value = "512MiB")]
    pub memory: String,
    /// Pin a host to an address for plugin connections, like curl: `HOST:PORT:ADDR`.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Trust this PEM CA certificate for plugin HTTPS (besides Mozilla's roots).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Run a parsed command line; the error carries the exit code.
pub async fn execute(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => {
            let mode = Mode::detect(args.json);
            run_step(mode, *args).await
        }
        Command::Action => match runner::action_input("pipeline") {
            Some(file) => run_pipeline(Mode::Actions, action_pipeline_args(file)?).await,
            None => run_step(Mode::Actions, action_args()?).await,
        },
        Command::Pipeline(PipelineCommand::Run(args)) => {
            let mode = Mode::detect(args.json);
            run_pipeline(mode, args).await
        }
        Command::Plugin(PluginCommand::List { json }) => list(json),
        Command::Plugin(PluginCommand::Describe { plugin, json }) => describe(&plugin, json).await,
        Command::Keygen { out } => keygen(&out),
        Command::Verify(args) => verify(&args),
    }
}

async fn run_step(mode: Mode, args: RunArgs) -> Result<ExitCode> {
    let request = request(&args)?;
    runner::mask_secrets(mode, request.secret_values.values().cloned());
    let runtime = Runtime::new(step::default_cache_dir())?;
    let printer = Arc::new(Printer::new(mode));
    printer.set_plugin(&request.plugin.display_name());
    let result = step::run(&runtime, request, printer).await?;
    runner::report(mode, &result)?;
    Ok(result.exit_code())
}

async fn run_pipeline(mode: Mode, args: PipelineArgs) -> Result<ExitCode> {
    let pipeline = crate::pipeline::load(&args.file)?;
    if args.dry_run {
        print!("{}", crate::pipeline::dry_run(&pipeline));
        return Ok(ExitCode::Success);
    }
    let mut given = BTreeMap::new();
    for pair in &args.inputs {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::invalid("--input", pair.clone(), "write `NAME=VALUE`"))?;
        let value: serde_json::Value =
            serde_yaml_ng::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        given.insert(name.trim().to_string(), value);
    }
    let secret_values = runner::secret_values(&args.secrets);
    runner::mask_secrets(mode, secret_values.values().cloned());
    let env = crate::pipeline::PipelineEnv {
        runtime: Arc::new(Runtime::new(step::default_cache_dir())?),
        mode,
        artifacts: Arc::new(ArtifactConfig::new(&args.keys.options()?)?),
        tls: crate::net::tls_config(&args.ca_certs).map_err(|e| Error::invalid("--ca-cert", "", e))?,
        context: runner::context(pipeline.name.as_deref().unwrap_or("pipeline")),
        secret_values,
    };
    let timeout = args.timeout.as_deref().map(parse_timeout).transpose()?;
    let result = crate::pipeline::run(&pipeline, &env, given, timeout).await?;
    runner::report_pipeline(mode, &result)?;
    Ok(result.exit_code())
}

/// The action's inputs for a pipeline run; `inputs` is a YAML mapping.
fn action_pipeline_args(file: String) -> Result<PipelineArgs> {
    let mut args = PipelineArgs {
        file: PathBuf::from(file),
        secrets: runner::action_list("secrets"),
        ..PipelineArgs::default()
    };
    if let Some(inputs) = runner::action_input("inputs") {
        let map: BTreeMap<String, serde_json::Value> = serde_yaml_ng::from_str(&inputs).map_err(|e| {
            Error::invalid(
                "`inputs` input",
                inputs.clone(),
                format!("{e}; write a YAML mapping of input names to values"),
            )
        })?;
        for (name, value) in map {
            args.inputs.push(format!("{name}={value}"));
        }
    }
    Ok(args)
}

/// Validate raw flags into a step request.
pub fn request(args: &RunArgs) -> Result<StepRequest> {
    let plugin = PluginRef::parse(&args.plugin)?;
    let mut inputs = BTreeMap::new();
    for pair in &args.with {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::invalid("--with", pair.clone(), "write `NAME=VALUE`"))?;
        inputs.insert(name.trim().to_string(), Given::Text(value.to_string()));
    }
    let paths = |dirs: &[PathBuf]| dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>();
    let (read, write) = (paths(&args.allow_read), paths(&args.allow_write));
    let lists = GrantLists {
        net: &args.allow_net,
        read: &read,
        write: &write,
        secrets: &args.secrets,
        github: &args.allow_github,
    };
    let grants = Grants::parse(&lists, Path::new("."))?;
    let timeout = parse_timeout(&args.timeout)?;
    let memory = args
        .memory
        .parse::<bytesize::ByteSize>()
        .map_err(|e| {
            Error::invalid(
                "--memory",
                args.memory.clone(),
                format!("{e}; write e.g. `256MiB` or `1GiB`"),
            )
        })?
        .as_u64();
    let tls = crate::net::tls_config(&args.ca_certs).map_err(|e| Error::invalid("--ca-cert", "", e))?;
    Ok(StepRequest {
        context: runner::context(&plugin.display_name()),
        plugin,
        inputs,
        grants,
        secret_values: runner::secret_values(&args.secrets),
        limits: Limits { timeout, memory },
        resolve: args
            .resolve
            .iter()
            .map(|r| parse_resolve(r))
            .collect::<Result<HashMap<_, _>>>()?,
        tls,
        artifacts: Some(Arc::new(ArtifactConfig::new(&args.keys.options()?)?)),
    })
}

fn parse_timeout(text: &str) -> Result<Duration> {
    let timeout = humantime::parse_duration(text)
        .map_err(|e| Error::invalid("--timeout", text, format!("{e}; write e.g. `30s` or `10m`")))?;
    if timeout.is_zero() {
        return Err(Error::invalid("--timeout", text, "must be more than zero"));
    }
    Ok(timeout)
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
    Ok(((crate::capabilities::normalize_host(host), port), addr))
}

/// The action's inputs as run flags. `with` is a YAML mapping.
fn action_args() -> Result<RunArgs> {
    let plugin = runner::action_input("plugin")
        .ok_or_else(|| Error::invalid("action input", "plugin", "the `plugin` input is required"))?;
    let mut args = RunArgs {
        plugin,
        allow_net: runner::action_list("allow-net"),
        allow_read: runner::action_list("allow-read")
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        allow_write: runner::action_list("allow-write")
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        secrets: runner::action_list("secrets"),
        allow_github: runner::action_list("allow-github"),
        timeout: runner::action_input("timeout").unwrap_or_else(|| "10m".into()),
        memory: runner::action_input("memory").unwrap_or_else(|| "512MiB".into()),
        ..RunArgs::default()
    };
    if let Some(with) = runner::action_input("with") {
        let map: BTreeMap<String, serde_json::Value> = serde_yaml_ng::from_str(&with).map_err(|e| {
            Error::invalid(
                "`with` input",
                with.clone(),
                format!("{e}; write a YAML mapping of input names to values"),
            )
        })?;
        for (name, value) in map {
            // Structured values travel as JSON, which is valid YAML for the input parser.
            let text = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            args.with.push(format!("{name}={text}"));
        }
    }
    Ok(args)
}

fn list(json: bool) -> Result<ExitCode> {
    let names: Vec<&str> = builtin::BUILTINS.iter().map(|(n, _)| *n).collect();
    if json {
        println!("{}", serde_json::json!(names));
    } else {
        for name in names {
            println!("builtin:{name}");
        }
    }
    Ok(ExitCode::Success)
}

async fn describe(plugin: &str, json: bool) -> Result<ExitCode> {
    let plugin = PluginRef::parse(plugin)?;
    let runtime = Runtime::new(step::default_cache_dir())?;
    let sink: Arc<dyn Sink> = Arc::new(Collect::default());
    let tls = crate::net::tls_config(&[]).map_err(Error::Runtime)?;
    let (loaded, info) = step::load(&runtime, &plugin, tls, sink).await?;
    let text = if json {
        format!("{:#}", crate::describe::to_json(&info, &loaded.digest))
    } else {
        crate::describe::to_text(&info, &loaded.digest)
    };
    println!("{text}");
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
    println!("wrote {} (secret) and {}", key_path.display(), pub_path.display());
    println!("key id: {}", signer.keyid());
    println!(
        "store the private key as the secret TOLLGATE_SIGNING_KEY; give verifiers the public key (--public-key or TOLLGATE_PUBLIC_KEY)"
    );
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
            let predicate = &statement["predicate"];
            if args.json {
                println!(
                    "{:#}",
                    serde_json::json!({"verified": true, "subject": subject, "digest": digest, "keyid": keyid, "statement": statement})
                );
            } else {
                println!("verified {subject} {digest}");
                match keyid {
                    Some(k) => println!("  signed by {k}"),
                    None => println!("  UNSIGNED (accepted because of --allow-unsigned)"),
                }
                println!(
                    "  produced by {} {} ({}), outcome {}",
                    predicate["plugin"]["name"].as_str().unwrap_or("?"),
                    predicate["plugin"]["version"].as_str().unwrap_or("?"),
                    predicate["plugin"]["digest"].as_str().unwrap_or("?"),
                    predicate["outcome"].as_str().unwrap_or("?")
                );
            }
            Ok(ExitCode::Success)
        }
        Err(e) => {
            if args.json {
                println!("{:#}", serde_json::json!({"verified": false, "error": e.to_string()}));
            }
            eprintln!("verification failed: {e}");
            Ok(ExitCode::Failure)
        }
    }
}
