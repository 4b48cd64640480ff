//! What the host links, and the check that a component asks for nothing else — made on
//! the component's bytes before compiling it, because compiling a Python or JavaScript
//! component takes tens of seconds and a missing import would only surface afterwards.
//!
//! Keep [`WASI_0_2`] in step with `Runtime::new`'s linker: an interface listed here but
//! not linked still fails at link time (only later); one linked but not listed is refused
//! here, which the Python and JavaScript template tests would catch (they import all of
//! WASI 0.2).

use crate::error::{Error, Result};
use wasmparser::{Chunk, Encoding, Parser, Payload};

/// The `tollgate:plugin` versions this host links (`wit/since_v*/`).
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.1.0"];

/// The interfaces of the `tollgate:plugin` package.
const TOLLGATE: &[&str] = &[
    "types",
    "log",
    "outputs",
    "summary",
    "secrets",
    "tls",
    "artifacts",
    "github",
];

/// The WASI 0.2 interfaces the host links (any `0.2.x`: wasmtime links by semver), by
/// package. What each may reach is decided per step; `wasi:sockets` is linked so that
/// toolchains importing it load, and denies every socket.
const WASI_0_2: &[(&str, &[&str])] = &[
    ("wasi:io", &["error", "poll", "streams"]),
    ("wasi:clocks", &["monotonic-clock", "wall-clock"]),
    ("wasi:random", &["random", "insecure", "insecure-seed"]),
    (
        "wasi:cli",
        &[
            "environment",
            "exit",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        ],
    ),
    ("wasi:filesystem", &["types", "preopens"]),
    (
        "wasi:sockets",
        &[
            "network",
            "instance-network",
            "ip-name-lookup",
            "tcp",
            "tcp-create-socket",
            "udp",
            "udp-create-socket",
        ],
    ),
    ("wasi:http", &["types", "outgoing-handler"]),
];

/// How many unknown imports an error names (the rest are counted).
const MAX_NAMED: usize = 5;
/// Longest import name an error quotes: names are plugin-written.
const MAX_NAME_CHARS: usize = 80;

/// Refuse a component whose imports this host does not link, by name, before compiling
/// it. A `tollgate:plugin` version the host does not link gets its own message: it is
/// the one mismatch with an obvious fix.
pub fn check(plugin: &str, bytes: &[u8]) -> Result<()> {
    let invalid = |reason: String| Error::InvalidPlugin {
        plugin: plugin.to_string(),
        reason,
    };
    let imports = top_level_imports(bytes).map_err(|e| invalid(format!("it is not a WebAssembly component: {e}")))?;
    if let Some(version) = imports.iter().find_map(|i| unsupported_contract(i)) {
        return Err(invalid(contract_reason(version)));
    }
    let unknown: Vec<&String> = imports.iter().filter(|i| !provided(i)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let mut named: Vec<String> = unknown
        .iter()
        .take(MAX_NAMED)
        .map(|i| format!("`{}`", shorten(i)))
        .collect();
    if unknown.len() > MAX_NAMED {
        named.push(format!("and {} more", unknown.len() - MAX_NAMED));
    }
    Err(invalid(format!(
        "it imports what Tollgate does not provide: {}. Tollgate links tollgate:plugin@{} and WASI 0.2 \
         (io, clocks, random, cli, filesystem, sockets, http); build against the WIT in Tollgate's wit/ \
         (`tollgate plugin new` writes it into a project)",
        named.join(", "),
        SUPPORTED_CONTRACTS.join(", "),
    )))
}

/// The names of the instances and functions the outermost component imports (nested
/// components and modules are its own business, and are skipped unread: the check costs
/// the same for a 20 MB Python component as for a 100 KB Rust one).
fn top_level_imports(bytes: &[u8]) -> std::result::Result<Vec<String>, String> {
    let mut parser = Parser::new(0);
    let mut offset = 0usize;
    let mut imports = Vec::new();
    loop {
        let (consumed, payload) = match parser.parse(&bytes[offset..], true).map_err(|e| e.to_string())? {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => return Err("it ends in the middle of a section".into()),
        };
        offset += consumed;
        match payload {
            Payload::Version { encoding, .. } if encoding != Encoding::Component => {
                return Err("it is a core module; wrap it as a component (e.g. `wasm-tools component new`)".into());
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|e| e.to_string())?;
                    // A world's `use` shows as type imports (`plugin-info`): names of types
                    // the instances define, nothing the host must provide.
                    if !matches!(import.ty, wasmparser::ComponentTypeRef::Type(_)) {
                        imports.push(import.name.name.to_string());
                    }
                }
            }
            Payload::ModuleSection { unchecked_range, .. } | Payload::ComponentSection { unchecked_range, .. } => {
                if unchecked_range.end > bytes.len() {
                    return Err("a nested module runs past the end of the file".into());
                }
                offset = unchecked_range.end;
            }
            Payload::End(_) => return Ok(imports),
            _ => {}
        }
    }
}

/// `tollgate:plugin/IFACE@VERSION` with a version this host does not link.
fn unsupported_contract(import: &str) -> Option<&str> {
    let (_, version) = import.strip_prefix("tollgate:plugin/")?.split_once('@')?;
    (!SUPPORTED_CONTRACTS.contains(&version)).then_some(version)
}

fn contract_reason(version: &str) -> String {
    let newest = SUPPORTED_CONTRACTS
        .iter()
        .max_by_key(|v| semver(v))
        .copied()
        .unwrap_or_default();
    let fix = if semver(version) > semver(newest) {
        "upgrade Tollgate, or build the plugin against an older tollgate:plugin"
    } else {
        "rebuild the plugin against a supported tollgate:plugin"
    };
    format!(
        "it was built against tollgate:plugin@{}; this Tollgate links {}: {fix}",
        shorten(version),
        SUPPORTED_CONTRACTS.join(", ")
    )
}

/// Whether the host links this import (`package/interface@version`).
fn provided(import: &str) -> bool {
    let Some((path, version)) = import.split_once('@') else {
        return false;
    };
    let Some((package, interface)) = path.split_once('/') else {
        return false;
    };
    if package == "tollgate:plugin" {
        return SUPPORTED_CONTRACTS.contains(&version) && TOLLGATE.contains(&interface);
    }
    let [major, minor, _] = semver(version);
    (major, minor) == (0, 2)
        && version.split(['.', '-', '+']).count() >= 3
        && WASI_0_2
            .iter()
            .any(|(p, interfaces)| *p == package && interfaces.contains(&interface))
}

/// `major.minor.patch` as numbers, for ordering versions (unparsable parts count as 0).
fn semver(version: &str) -> [u64; 3] {
    let mut parts = version.split(['.', '-', '+']).map(|p| p.parse().unwrap_or(0));
    [(); 3].map(|()| parts.next().unwrap_or(0))
}

/// A plugin-written name, shortened for an error message (the printer neutralises it).
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_string();
    }
    let short: String = name.chars().take(MAX_NAME_CHARS).collect();
    format!("{short}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component that imports one instance, of an empty instance type, named `name`.
    fn component_importing(names: &[&str]) -> Vec<u8> {
        let mut bytes = b"\0asm\x0d\x00\x01\x00".to_vec();
        // Type section: one instance type with no declarations.
        section(&mut bytes, 7, &[1, 0x42, 0]);
        let mut imports = vec![names.len() as u8];
        for name in names {
            imports.push(0x00);
            imports.push(name.len() as u8);
            imports.extend_from_slice(name.as_bytes());
            imports.extend_from_slice(&[0x05, 0]);
        }
        section(&mut bytes, 10, &imports);
        bytes
    }

    fn section(bytes: &mut Vec<u8>, id: u8, content: &[u8]) {
        bytes.push(id);
        bytes.push(content.len() as u8);
        bytes.extend_from_slice(content);
    }

    #[test]
    fn what_the_host_links_passes() {
        let bytes = component_importing(&[
            "tollgate:plugin/log@0.1.0",
            "wasi:http/outgoing-handler@0.2.10",
            "wasi:io/streams@0.2.0",
            "wasi:sockets/tcp@0.2.12",
        ]);
        assert_eq!(top_level_imports(&bytes).unwrap().len(), 4);
        check("p", &bytes).unwrap();
    }

    #[test]
    fn type_imports_of_a_world_are_not_instances_to_provide() {
        let mut bytes = component_importing(&["tollgate:plugin/types@0.1.0"]);
        // A second import section: `plugin-info`, a type equal to type 0.
        section(
            &mut bytes,
            10,
            &[
                1, 0x00, 11, b'p', b'l', b'u', b'g', b'i', b'n', b'-', b'i', b'n', b'f', b'o', 0x03, 0x00, 0,
            ],
        );
        assert_eq!(top_level_imports(&bytes).unwrap(), ["tollgate:plugin/types@0.1.0"]);
        check("p", &bytes).unwrap();
    }

    #[test]
    fn an_import_the_host_lacks_is_named_before_compiling() {
        let bytes = component_importing(&[
            "wasi:io/streams@0.2.0",
            "wasi:keyvalue/store@0.2.0",
            "wasi:http/outgoing-handler@0.3.0",
            "wasi:clocks/timezone@0.2.12",
        ]);
        let message = check("p", &bytes).unwrap_err().to_string();
        for named in [
            "`wasi:keyvalue/store@0.2.0`",
            "`wasi:http/outgoing-handler@0.3.0`",
            "`wasi:clocks/timezone@0.2.12`",
        ] {
            assert!(message.contains(named), "{named} missing from: {message}");
        }
        assert!(!message.contains("streams"), "{message}");
        assert!(message.contains("tollgate plugin new"), "{message}");
    }

    #[test]
    fn a_newer_contract_says_to_upgrade() {
        let bytes = component_importing(&["tollgate:plugin/log@0.2.0"]);
        let message = check("p", &bytes).unwrap_err().to_string();
        assert!(
            message.contains("tollgate:plugin@0.2.0;") && message.contains("upgrade Tollgate"),
            "{message}"
        );
    }

    #[test]
    fn hostile_names_are_bounded_and_counted() {
        let long = "x".repeat(200);
        let names: Vec<String> = (0..8).map(|i| format!("evil:{i}/{long}")).collect();
        let refs: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        let mut bytes = b"\0asm\x0d\x00\x01\x00".to_vec();
        bytes.extend_from_slice(&[7, 3, 1, 0x42, 0]);
        let mut imports = vec![refs.len() as u8];
        for name in &refs {
            imports.push(0x00);
            // LEB128 of the name length (> 127).
            imports.extend_from_slice(&[(name.len() as u8 & 0x7f) | 0x80, (name.len() >> 7) as u8]);
            imports.extend_from_slice(name.as_bytes());
            imports.extend_from_slice(&[0x05, 0]);
        }
        bytes.push(10);
        let len = imports.len();
        bytes.extend_from_slice(&[(len as u8 & 0x7f) | 0x80, (len >> 7) as u8]);
        bytes.extend_from_slice(&imports);
        let message = check("p", &bytes).unwrap_err().to_string();
        assert!(message.contains("and 3 more"), "{message}");
        assert!(message.len() < 1200, "{} bytes: {message}", message.len());
    }

    #[test]
    fn a_core_module_or_garbage_is_not_a_component() {
        let core = b"\0asm\x01\x00\x00\x00";
        assert!(check("p", core).unwrap_err().to_string().contains("core module"));
        assert!(
            check("p", b"not wasm")
                .unwrap_err()
                .to_string()
                .contains("not a WebAssembly component")
        );
    }
}
