//! Plugin projects: the language a directory is written in, a new project from the
//! embedded templates, and building a project into a checked component.

use crate::error::{Error, Result};
use crate::events::Sink;
use crate::sandbox::runtime::{Limits, Runtime};
use crate::sources::PluginRef;
use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../sdk/templates");
/// The world non-Rust toolchains build against: `tollgate:plugin` plus `wasi:http`, with
/// every WIT dependency vendored (a project gets its own copy in `wit/`).
static AUTHORING_WIT: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../wit/authoring");
/// Python helpers copied next to a Python plugin's `app.py`.
static PYTHON_SDK: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../sdk/python");

/// Where the SDK was when this binary was built: a project made by a Tollgate built from
/// source depends on that checkout; a release binary's projects use crates.io.
const SDK_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk/rust");

/// Longest plugin name `plugin new` accepts (the host's limit for declared names).
const MAX_NAME: usize = crate::step::MAX_NAME;

/// A language plugins are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust on `tollgate-sdk` (`Cargo.toml`).
    Rust,
    /// Python through componentize-py (`app.py`).
    Python,
    /// JavaScript through componentize-js (`app.js`).
    Js,
}

impl Lang {
    /// The language of the project in `dir`, by the file that marks it.
    pub fn detect(dir: &Path) -> Result<Self> {
        let marks = [
            (Lang::Rust, "Cargo.toml"),
            (Lang::Python, "app.py"),
            (Lang::Js, "app.js"),
        ];
        marks
            .into_iter()
            .find(|(_, file)| dir.join(file).is_file())
            .map(|(lang, _)| lang)
            .ok_or_else(|| {
                Error::invalid(
                    "plugin project",
                    dir.display().to_string(),
                    "it has no Cargo.toml, app.py or app.js; create one with `tollgate plugin new NAME`",
                )
            })
    }

    fn template(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }
}

/// Write a new project for plugin `name` in `parent/name`; returns its directory. A Rust
/// project depends on the SDK at `sdk` when given.
pub fn new(name: &str, lang: Lang, parent: &Path, sdk: Option<&Path>) -> Result<PathBuf> {
    check_name(name)?;
    let root = parent.join(name);
    if root.exists() {
        return Err(Error::invalid(
            "plugin project",
            root.display().to_string(),
            "it already exists; choose another name or remove it",
        ));
    }
    let template = TEMPLATES
        .get_dir(lang.template())
        .expect("every language has a template directory");
    let sdk = sdk_dependency(sdk)?;
    let substitute = |text: &str| {
        text.replace("__NAME_SNAKE__", &name.replace('-', "_"))
            .replace("__NAME__", name)
            .replace("__SDK_DEPENDENCY__", &sdk)
    };
    write_dir(template, Path::new(lang.template()), &root, &substitute)?;
    if lang != Lang::Rust {
        write_dir(&AUTHORING_WIT, Path::new(""), &root.join("wit"), &|t: &str| {
            t.to_string()
        })?;
    }
    if lang == Lang::Python {
        write_dir(&PYTHON_SDK, Path::new(""), &root, &|t: &str| t.to_string())?;
    }
    Ok(root)
}

/// A plugin name is a package name in every language and a directory: kebab-case.
fn check_name(name: &str) -> Result<()> {
    let ok = name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        return Ok(());
    }
    Err(Error::invalid(
        "plugin name",
        name,
        format!(
            "use 1-{MAX_NAME} lower-case letters, digits and single dashes, starting with a letter (e.g. `my-check`)"
        ),
    ))
}

/// The `tollgate-sdk` line of a new Rust project's `Cargo.toml`: the SDK at `given`, else
/// the checkout this binary was built from if it is still there, else crates.io.
fn sdk_dependency(given: Option<&Path>) -> Result<String> {
    let path = match given {
        Some(path) => {
            let path = path.canonicalize().map_err(|e| Error::io(path, e))?;
            if !path.join("Cargo.toml").is_file() {
                return Err(Error::invalid(
                    "--sdk-path",
                    path.display().to_string(),
                    "it has no Cargo.toml; give a Tollgate checkout's sdk/rust",
                ));
            }
            Some(path)
        }
        None => Path::new(SDK_SOURCE)
            .canonicalize()
            .ok()
            .filter(|p| p.join("Cargo.toml").is_file()),
    };
    Ok(match path {
        Some(path) => format!("tollgate-sdk = {{ path = {:?} }}", path.display().to_string()),
        None => format!("tollgate-sdk = \"{}\"", env!("CARGO_PKG_VERSION")),
    })
}

/// Copy an embedded directory (files under `strip`) to `to`, substituting placeholders.
fn write_dir(dir: &Dir<'_>, strip: &Path, to: &Path, substitute: &dyn Fn(&str) -> String) -> Result<()> {
    for file in dir.files() {
        let relative = file.path().strip_prefix(strip).unwrap_or(file.path());
        let path = to.join(substitute(&relative.to_string_lossy()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let bytes = match file.contents_utf8() {
            Some(text) => substitute(text).into_bytes(),
            None => file.contents().to_vec(),
        };
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    }
    for sub in dir.dirs() {
        write_dir(sub, strip, to, substitute)?;
    }
    Ok(())
}

/// A built and checked component.
#[derive(Debug)]
pub struct Built {
    /// `DIR/NAME.wasm`, named after the plugin's declared name.
    pub wasm: PathBuf,
    /// The plugin's declared name and version.
    pub name: String,
    /// Its declared version.
    pub version: String,
    /// `sha256:<hex>`: what a workflow pins.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Build the project in `dir` with its language's toolchain, then load the component
/// the way a run does (imports checked, compiled into the cache, described) and put it
/// at `DIR/NAME.wasm`.
pub async fn build(runtime: &Runtime, dir: &Path, sink: Arc<dyn Sink>) -> Result<Built> {
    let dir = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let lang = Lang::detect(&dir)?;
    // Staged under the project's name, which messages about a broken build show.
    let stage = dir.join(".tollgate");
    std::fs::create_dir_all(&stage).map_err(|e| Error::io(&stage, e))?;
    let project = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staged = stage.join(format!("{project}.wasm"));
    match lang {
        Lang::Rust => {
            let artifact = cargo_build(&dir)?;
            std::fs::copy(&artifact, &staged).map_err(|e| Error::io(&artifact, e))?;
        }
        Lang::Python => run_tool(
            &dir,
            "componentize-py",
            // Both packages name an interface `types`; without this componentize-py renames
            // wasi:http's, and its own `poll_loop` helper no longer imports.
            &[
                "-d",
                "wit",
                "-w",
                "plugin",
                "--import-interface-name",
                "wasi:http/types@0.2.12=types",
                "componentize",
                "app",
                "-o",
            ],
            &staged,
            "pip install componentize-py==0.25.1",
        )?,
        Lang::Js => {
            let local = dir.join("node_modules/.bin/componentize-js");
            let tool = if local.exists() {
                local.display().to_string()
            } else {
                "componentize-js".to_string()
            };
            run_tool(
                &dir,
                &tool,
                &["app.js", "--wit", "wit", "-n", "plugin", "-o"],
                &staged,
                "npm install (the project's package.json pins @bytecodealliance/componentize-js)",
            )?
        }
    }
    let plugin = PluginRef::parse(&staged.display().to_string())?;
    let (loaded, info) = crate::step::load(
        runtime,
        &plugin,
        crate::sandbox::net::tls_config(&[]).map_err(|e| Error::Runtime(e.to_string()))?,
        sink,
        Limits::default(),
    )
    .await?;
    let wasm = dir.join(format!("{}.wasm", info.name));
    std::fs::rename(&staged, &wasm).map_err(|e| Error::io(&wasm, e))?;
    let _ = std::fs::remove_dir(&stage);
    let size = std::fs::metadata(&wasm).map_err(|e| Error::io(&wasm, e))?.len();
    Ok(Built {
        wasm,
        name: info.name,
        version: info.version,
        digest: loaded.digest,
        size,
    })
}

/// `cargo build --release --target wasm32-wasip2`; the path of the component it built.
fn cargo_build(dir: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(dir)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .args(["--message-format", "json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let described = "cargo build --release --target wasm32-wasip2";
    let output = command
        .output()
        .map_err(|e| build_error(described, &format!("{e}; is cargo on PATH?")))?;
    if !output.status.success() {
        return Err(build_error(
            described,
            "it failed (see above); if the target is missing: `rustup target add wasm32-wasip2`",
        ));
    }
    // The cdylib's `.wasm`, from cargo's own account of what it built.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["target"]["crate_types"]
                .as_array()
                .is_some_and(|t| t.iter().any(|k| k == "cdylib"))
        })
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| {
            build_error(
                described,
                "it built no component; the package needs `[lib] crate-type = [\"cdylib\", \"rlib\"]`",
            )
        })
}

/// Run a componentizer that writes its component to the path given last.
fn run_tool(dir: &Path, tool: &str, args: &[&str], out: &Path, install: &str) -> Result<()> {
    let described = format!("{tool} {} {}", args.join(" "), out.display());
    let status = Command::new(tool)
        .current_dir(dir)
        .args(args)
        .arg(out)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => build_error(&described, &format!("{tool} is not installed: {install}")),
            _ => build_error(&described, &e.to_string()),
        })?;
    if !status.success() {
        return Err(build_error(&described, "it failed (see above)"));
    }
    Ok(())
}

fn build_error(command: &str, reason: &str) -> Error {
    Error::Build {
        command: command.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case() {
        for good in ["hello", "my-check", "a1-b2"] {
            check_name(good).unwrap();
        }
        for bad in [
            "",
            "Hello",
            "-x",
            "x-",
            "a--b",
            "a_b",
            "a/b",
            "../x",
            "1abc",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_language_has_a_template_with_tests() {
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            let dir = TEMPLATES.get_dir(lang.template()).expect("template");
            assert!(
                dir.get_file(Path::new(lang.template()).join("tollgate-tests.yaml"))
                    .is_some(),
                "{lang:?} template has no tollgate-tests.yaml"
            );
        }
    }

    #[test]
    fn a_new_project_is_written_with_its_name_and_never_over_another() {
        let parent = tempfile::tempdir().unwrap();
        let root = new("my-check", Lang::Rust, parent.path(), None).unwrap();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"my-check\""), "{manifest}");
        assert!(manifest.contains("tollgate-sdk = "), "{manifest}");
        assert!(!manifest.contains("__"), "placeholder left: {manifest}");
        let before = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
        assert!(new("my-check", Lang::Rust, parent.path(), None).is_err());
        assert_eq!(std::fs::read_to_string(root.join("src/lib.rs")).unwrap(), before);
    }
}
