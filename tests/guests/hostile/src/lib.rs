//! A malicious plugin for `tests/e2e/hostile.rs`, written as an attacker would write one:
//! it does not care what the host means to allow, only what the host lets through.
//!
//! `describe` takes no input, so its behaviour is chosen without one: the component carries
//! a fixed-size slot in its data segment ([`SLOT`]), and a test copies the `.wasm` and writes
//! a mode (and an argument) into the slot. Unpatched, **every** describe string is hostile at
//! once; the other modes are listed in [`describe_mode`]. `run` attacks are chosen by the
//! `attack` input (`arg` is its argument); they are listed in [`run_attack`].
//!
//! Hostile strings come from [`evil`]: each carries every payload below, and each payload
//! carries a marker `PWN<n>.<field>`, so a leak names the field it came from.

use tollgate_sdk::{
    Capability, CapabilityRequest, GithubPermission, Inputs, Level, Location, Plugin, PluginError, PluginInfo,
    RunReport, Status, StepContext, ValueKind, artifacts, input, log, output, outputs, request, secrets, summary, tls,
};

/// Marks the describe slot; a test searches the `.wasm` for it followed by [`SLOT_LEN`] spaces.
const MAGIC: &[u8] = b"<<tollgate-hostile-describe-mode>>";
/// Room for `MODE ARG`, padded with spaces.
const SLOT_LEN: usize = 1024;

/// The describe mode, patched into the `.wasm` by tests. Read with volatile loads so the
/// compiler cannot fold the (all spaces) contents it sees at build time.
#[used]
static SLOT: [u8; MAGIC.len() + SLOT_LEN] = {
    let mut slot = [b' '; MAGIC.len() + SLOT_LEN];
    let mut i = 0;
    while i < MAGIC.len() {
        slot[i] = MAGIC[i];
        i += 1;
    }
    slot
};

/// `(mode, arg)` from the slot; both empty when the component is unpatched.
fn slot() -> (String, String) {
    let base = (&raw const SLOT).cast::<u8>();
    let bytes: Vec<u8> = (MAGIC.len()..MAGIC.len() + SLOT_LEN)
        // SAFETY: in bounds of a static that lives for the whole program.
        .map(|i| unsafe { base.add(i).read_volatile() })
        .collect();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    match text.split_once(' ') {
        Some((mode, arg)) => (mode.to_string(), arg.trim().to_string()),
        None => (text, String::new()),
    }
}

/// `(before, marker, after)`: each payload tries one way out of a log line or a field.
const PAYLOADS: &[(&str, &str, &str)] = &[
    // A command at the very start of wherever the host puts the string.
    ("::warning::", "PWN0", " "),
    ("\n::add-mask::", "PWN1", ""),
    ("\r::set-env name=", "PWN2", "::x"),
    ("\n::stop-commands::", "PWN3", ""),
    ("\u{85}::warning::", "PWN4", ""),
    ("\u{2028}::error::", "PWN5", ""),
    ("\n##[error]", "PWN6", ""),
    // Terminal title (OSC), colour (CSI), right-to-left override.
    ("\u{1b}]0;", "PWN7", "\u{7}"),
    ("\u{1b}[31m", "PWN8", "\u{1b}[0m"),
    ("\u{202e}", "PWN9", "\u{202c}"),
    ("\u{2029}::notice::", "PWN10", ""),
    // C1 CSI, bidi isolate, CRLF with indentation, NUL.
    ("\u{9b}31m", "PWN11", ""),
    ("\u{2066}", "PWN12", "\u{2069}"),
    ("\r\n  ::group::", "PWN13", ""),
    ("\0::debug::", "PWN14", ""),
];

/// A string carrying every payload, each marked `PWN<n>.<field>`.
pub fn evil(field: &str) -> String {
    PAYLOADS
        .iter()
        .map(|(before, marker, after)| format!("{before}{marker}.{field}{after}"))
        .collect()
}

const OUTPUTS: &[&str] = &["result", "extra", "big1", "big2", "big3", "big4", "big5"];
const SECRET: &str = "HOSTILE_TOKEN";

/// An ordinary-looking description, so run-time attacks are not refused at describe.
fn plain() -> PluginInfo {
    PluginInfo {
        name: "hostile".into(),
        version: "6.6.6".into(),
        summary: "Attacks the host that runs it.".into(),
        inputs: vec![
            input("attack", ValueKind::String, "which attack to run").required(),
            input("arg", ValueKind::String, "its argument"),
        ],
        outputs: OUTPUTS.iter().map(|n| output(n, "attacker-chosen text")).collect(),
        capabilities: vec![
            request(Capability::Net("http://*:*".into()), "anywhere").optional(),
            request(Capability::Net("https://*:*".into()), "anywhere").optional(),
            request(Capability::Read, "everything").optional(),
            request(Capability::Write, "everything").optional(),
            request(Capability::Secret(SECRET.into()), "a token").optional(),
        ],
    }
}

/// Every string hostile at once; names stay valid so the host has no reason to refuse.
/// Read is required (tests grant a directory), so a run without it echoes the reason.
fn all_hostile() -> PluginInfo {
    let mut info = plain();
    info.name = evil("name");
    info.version = evil("version");
    info.summary = evil("summary");
    for i in &mut info.inputs {
        i.doc = evil(&format!("doc-{}", i.name));
    }
    info.inputs[1].default = Some(serde_json::Value::String(evil("default")).to_string());
    for o in &mut info.outputs {
        o.doc = evil(&format!("doc-{}", o.name));
    }
    for c in &mut info.capabilities {
        c.reason = evil("reason");
        if matches!(c.capability, Capability::Read) {
            c.optional = false;
            c.reason = evil("reason-read");
        }
    }
    info.capabilities.extend([
        request(Capability::Secret(evil("secret-name")), &evil("reason-secret")).optional(),
        request(
            Capability::Github(GithubPermission::PullRequestsWrite),
            &evil("reason-github"),
        )
        .optional(),
    ]);
    info
}

fn with_capability(mut info: PluginInfo, capability: CapabilityRequest) -> PluginInfo {
    info.capabilities
        .retain(|c| std::mem::discriminant(&c.capability) != std::mem::discriminant(&capability.capability));
    info.capabilities.push(capability);
    info
}

/// The description for a describe mode:
/// - (unpatched): [`all_hostile`];
/// - `plain`: [`plain`], for run-time attacks;
/// - `evil-names`: an input and an output with hostile names (the host must refuse, and
///   its refusal must not carry the payload out);
/// - `missing-read`, `missing-secret NAME?`: a required capability the tests do not grant,
///   with a hostile reason (and secret name);
/// - `bad-origin`: a required network request whose pattern is hostile;
/// - `chatty URL?`: describe logs hostile text on every channel, sets outputs, puts an
///   artifact and fetches URL, all before the host knows what the plugin may do;
/// - `spin`, `alloc`, `stack`: describe never returns (loop, unbounded allocation, deep
///   recursion);
/// - `many-outputs`, `many-inputs`: 100 000 outputs or inputs;
/// - `huge-docs`: a required input whose doc is 16 MiB;
/// - `reserved-outputs`: outputs named like the host's own (`status`, `STATUS`, `Message`,
///   `outputs`);
/// - `grant-input`: an input `target` marked `grants-origins`, with no default (a control:
///   what the workflow writes there is granted);
/// - `grant-default URL`: an input marked `grants-origins` whose *default* is URL;
/// - `grant-nested URL`: the same, URL nested in an object default;
/// - `grant-duplicate URL`: two inputs named `target`; the second grants origins and has
///   URL as its default, so a workflow value fills the first and the default the second.
fn describe_mode(mode: &str, arg: &str) -> PluginInfo {
    let mut info = plain();
    match mode {
        "" => return all_hostile(),
        "plain" => {}
        "evil-names" => {
            info.inputs
                .push(input(&evil("input-name"), ValueKind::String, "hostile name"));
            info.outputs.push(output(&evil("output-name"), "hostile name"));
        }
        "missing-read" => {
            info = with_capability(info, request(Capability::Read, &evil("reason-read")));
        }
        "missing-secret" => {
            info.capabilities
                .push(request(Capability::Secret(evil("secret-name")), &evil("reason-secret")));
        }
        "bad-origin" => {
            info.capabilities
                .push(request(Capability::Net(evil("origin")), &evil("reason-net")));
        }
        "chatty" => describe_side_effects(arg),
        "spin" => loop {
            std::hint::black_box(());
        },
        "alloc" => hog_memory(),
        "stack" => {
            std::hint::black_box(deep(0));
        }
        "many-outputs" => {
            info.outputs
                .extend((0..100_000).map(|i| output(&format!("o{i}"), "one of very many")));
        }
        "many-inputs" => {
            info.inputs
                .extend((0..100_000).map(|i| input(&format!("i{i}"), ValueKind::Any, "one of very many")));
        }
        "huge-docs" => {
            info.inputs
                .push(input("needed", ValueKind::String, &"d".repeat(16 << 20)).required());
        }
        "reserved-outputs" => {
            info.outputs = ["result", "status", "STATUS", "Message", "outputs"]
                .iter()
                .map(|n| output(n, "named like the host's own"))
                .collect();
        }
        "grant-input" => {
            info.inputs
                .push(input("target", ValueKind::String, "where to send everything").grants_origins());
        }
        "grant-default" => {
            info.inputs.push(
                input("target", ValueKind::String, "where to send everything")
                    .grants_origins()
                    .default_json(serde_json::json!(arg)),
            );
        }
        "grant-nested" => {
            info.inputs.push(
                input("config", ValueKind::Object, "settings")
                    .grants_origins()
                    .default_json(serde_json::json!({"endpoints": [{"url": arg}]})),
            );
        }
        "grant-duplicate" => {
            info.inputs
                .push(input("target", ValueKind::String, "an innocent input"));
            info.inputs.push(
                input("target", ValueKind::String, "the same name again")
                    .grants_origins()
                    .default_json(serde_json::json!(arg)),
            );
        }
        other => panic!("unknown describe mode `{other}`"),
    }
    info
}

/// Everything describe should not do, all of it hostile.
fn describe_side_effects(url: &str) {
    for level in LEVELS {
        log::log(level, &evil(&format!("describe-log-{level:?}")));
    }
    log::annotate(
        Level::Error,
        &evil("describe-annotation"),
        &evil_location("describe-file"),
    );
    log::group_start(&evil("describe-group"));
    log::progress(&evil("describe-progress"), Some(0.5));
    println!("{}", evil("describe-stdout"));
    let set = outputs::set("result", &evil("describe-output"));
    log::log(Level::Info, &format!("describe-time output: {set:?}"));
    let put = artifacts::put("describe.txt", "text/plain", b"written during describe");
    log::log(Level::Info, &format!("describe-time artifact: {put:?}"));
    if !url.is_empty() {
        log::log(Level::Info, &format!("describe-time fetch: {}", fetch(url)));
    }
}

const LEVELS: [Level; 6] = [
    Level::Trace,
    Level::Debug,
    Level::Info,
    Level::Notice,
    Level::Warning,
    Level::Error,
];

fn evil_location(field: &str) -> Location {
    Location {
        file: evil(field),
        line: Some(1),
        end_line: Some(2),
        column: Some(3),
        end_column: Some(4),
    }
}

fn hog_memory() -> ! {
    let mut hog: Vec<Vec<u8>> = Vec::new();
    loop {
        hog.push(vec![1u8; 16 << 20]);
        std::hint::black_box(&hog);
    }
}

/// Recursion through a function pointer read at run time: the compiler can neither turn
/// it into a loop nor see its end.
static DEEP: fn(u64) -> u64 = deep;

fn deep(n: u64) -> u64 {
    // SAFETY: reads a static function pointer.
    let next = unsafe { (&raw const DEEP).read_volatile() };
    next(n + 1).wrapping_mul(31).wrapping_add(n)
}

struct Hostile;

impl Plugin for Hostile {
    fn describe() -> PluginInfo {
        let (mode, arg) = slot();
        describe_mode(&mode, &arg)
    }

    fn run(inputs: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        let attack: String = inputs.require("attack")?;
        let arg: String = inputs.get("arg")?.unwrap_or_default();
        run_attack(&attack, &arg)
    }
}

fn passed(message: impl Into<String>) -> RunReport {
    RunReport {
        status: Status::Passed,
        message: message.into(),
    }
}

/// Set `result` and pass with the same text.
fn result(text: String) -> Result<RunReport, PluginError> {
    outputs::set("result", &text).map_err(PluginError::Internal)?;
    Ok(passed(text))
}

/// The run-time attacks:
/// - `pass`: nothing (for describe-time attacks);
/// - `everything`: hostile text through every channel below that succeeds, then a hostile
///   report;
/// - `log-levels`, `annotate`, `group`, `progress`, `stdio`: hostile text through one
///   channel (stdio is the guest's own stdout and stderr);
/// - `bad-output-name`, `secret-name`, `tls-origin`: a hostile name the host refuses; the
///   host's refusal comes back as the plugin's error;
/// - `invalid-input`, `denied`, `peer`, `internal`: a hostile plugin error;
/// - `report-passed`, `report-failed`: a hostile report message;
/// - `output-values`: hostile output values, including a forged heredoc;
/// - `summary`: hostile Markdown;
/// - `artifact-name`: an artifact with a hostile name and media type;
/// - `secret-echo`: logs and outputs the granted `HOSTILE_TOKEN` next to hostile text;
/// - `reserved`: sets outputs named like the host's own, then fails;
/// - `fetch URL`: GET URL, reporting what came back or the error;
/// - `stack`: unbounded recursion;
/// - `output-cap`: one 2 MiB output, then five outputs of 1 MiB;
/// - `empty-log-flood`, `endgroup-flood`, `annotation-flood`: a million calls that each
///   cost the plugin nothing against the log budget;
/// - `fields-flood`: 65 536 `wasi:http` `fields` of 16 KiB each (1 GiB of host memory);
/// - `huge-header`: one header value of 1 MiB;
/// - `body-flood URL`: 40 requests to URL whose bodies hold 15 MiB each and never end;
/// - `artifact-flood`: 300 distinct artifacts of 8 MiB;
/// - `artifact-put`: one small artifact.
fn run_attack(attack: &str, arg: &str) -> Result<RunReport, PluginError> {
    match attack {
        "pass" => Ok(passed("nothing to see")),
        "everything" => {
            for level in LEVELS {
                log::log(level, &evil(&format!("log-{level:?}")));
            }
            log::annotate(Level::Warning, &evil("annotation"), &evil_location("annotation-file"));
            log::group_start(&evil("group"));
            log::progress(&evil("progress"), Some(0.25));
            log::group_end();
            println!("{}", evil("stdout"));
            eprintln!("{}", evil("stderr"));
            let _ = outputs::set("result", &evil("output-value"));
            let _ = outputs::set(&evil("output-name"), "x");
            let _ = summary::append(&evil("summary"));
            Ok(passed(evil("report")))
        }
        "log-levels" => {
            for level in LEVELS {
                log::log(level, &evil(&format!("log-{level:?}")));
            }
            Ok(passed("logged"))
        }
        "annotate" => {
            for level in LEVELS {
                log::annotate(
                    level,
                    &evil(&format!("annotation-{level:?}")),
                    &evil_location("annotation-file"),
                );
            }
            Ok(passed("annotated"))
        }
        "group" => {
            log::group_start(&evil("group"));
            log::log(Level::Info, "inside");
            log::group_end();
            log::group_end();
            log::group_start(&evil("unclosed-group"));
            Ok(passed("grouped"))
        }
        "progress" => {
            log::progress(&evil("progress-half"), Some(0.5));
            log::progress(&evil("progress-none"), None);
            log::progress(&evil("progress-nan"), Some(f32::NAN));
            Ok(passed("progressed"))
        }
        "stdio" => {
            println!("{}", evil("stdout"));
            eprintln!("{}", evil("stderr"));
            print!("{}", evil("stdout-unterminated"));
            let _ = std::io::Write::flush(&mut std::io::stdout());
            Ok(passed("printed"))
        }
        "bad-output-name" => outputs::set(&evil("output-name"), "x")
            .map(|()| passed("the host accepted a hostile output name"))
            .map_err(PluginError::Internal),
        "secret-name" => secrets::get(&evil("secret-name"))
            .map(|_| passed("the host returned a secret for a hostile name"))
            .map_err(PluginError::Internal),
        "tls-origin" => tls::peer_certificate(&evil("origin"))
            .map(|_| passed("the host connected to a hostile origin"))
            .map_err(PluginError::Peer),
        "invalid-input" => Err(PluginError::InvalidInput(tollgate_sdk::InputError {
            input: evil("invalid-input-name"),
            message: evil("invalid-input-message"),
        })),
        "denied" => Err(PluginError::Denied(evil("denied"))),
        "peer" => Err(PluginError::Peer(evil("peer"))),
        "internal" => Err(PluginError::Internal(evil("internal"))),
        "report-passed" => Ok(passed(evil("report-passed"))),
        "report-failed" => Ok(RunReport {
            status: Status::Failed,
            message: evil("report-failed"),
        }),
        "output-values" => {
            let forged = format!(
                "{}\nEOF\nstatus=passed\nextra<<EOF\nforged\nEOF\nghadelimiter_0\nhijack=1",
                evil("output-value")
            );
            outputs::set("result", &forged).map_err(PluginError::Internal)?;
            outputs::set("extra", &evil("output-extra")).map_err(PluginError::Internal)?;
            Ok(passed("set"))
        }
        "summary" => {
            summary::append(&evil("summary")).map_err(PluginError::Internal)?;
            Ok(passed("summarised"))
        }
        "artifact-name" => {
            let put = artifacts::put(&evil("artifact-name"), &evil("media-type"), b"hostile bytes");
            result(format!("{put:?}"))
        }
        "secret-echo" => {
            let token = secrets::get(SECRET).map_err(PluginError::Internal)?;
            log::log(Level::Warning, &format!("{token}{}", evil("secret-log")));
            outputs::set("extra", &token).map_err(PluginError::Internal)?;
            Ok(passed(format!("the token is {token}")))
        }
        "reserved" => {
            let mut notes = Vec::new();
            for (name, value) in [
                ("status", "passed"),
                ("STATUS", "passed"),
                ("Message", "all good"),
                ("outputs", "{}"),
            ] {
                notes.push(format!("{name}: {:?}", outputs::set(name, value)));
            }
            Ok(RunReport {
                status: Status::Failed,
                message: format!("the real outcome is failure ({})", notes.join("; ")),
            })
        }
        "fetch" => result(fetch(arg)),
        "stack" => Ok(passed(format!("{}", deep(0)))),
        "output-cap" => output_cap(),
        "empty-log-flood" => {
            for _ in 0..1_000_000 {
                log::log(Level::Info, "");
            }
            Ok(passed("flooded"))
        }
        "endgroup-flood" => {
            for _ in 0..1_000_000 {
                log::group_end();
            }
            Ok(passed("flooded"))
        }
        "annotation-flood" => {
            let location = Location {
                file: "f/".repeat(512),
                line: Some(1),
                end_line: None,
                column: None,
                end_column: None,
            };
            for _ in 0..20_000 {
                log::annotate(Level::Warning, "", &location);
            }
            Ok(passed("flooded"))
        }
        "fields-flood" => fields_flood(),
        "huge-header" => {
            let fields = wasip2::http::types::Fields::new();
            let appended = fields.append("x-huge", &vec![b'h'; 1 << 20]);
            Ok(passed(format!("a 1 MiB header value: {appended:?}")))
        }
        "body-flood" => body_flood(arg),
        "artifact-flood" => artifact_flood(),
        "artifact-put" => result(match artifacts::put("hostile.txt", "text/plain", b"hostile bytes") {
            Ok(digest) => format!("stored {digest}"),
            Err(e) => format!("error: {e:?}"),
        }),
        other => Err(tollgate_sdk::invalid_input(
            "attack",
            format!("unknown attack `{other}`"),
        )),
    }
}

fn output_cap() -> Result<RunReport, PluginError> {
    let mut notes = Vec::new();
    match outputs::set("result", &"w".repeat(2 << 20)) {
        Ok(()) => notes.push("accepted 2 MiB in one output".to_string()),
        Err(e) => notes.push(format!("refused 2 MiB: {e}")),
    }
    let value = "v".repeat((1 << 20) - 64);
    let mut accepted = 0;
    for name in ["big1", "big2", "big3", "big4", "big5"] {
        match outputs::set(name, &value) {
            Ok(()) => accepted += 1,
            Err(e) => {
                notes.push(format!("refused {name} after {accepted} MiB: {e}"));
                break;
            }
        }
    }
    if accepted == 5 {
        notes.push("accepted 5 outputs of 1 MiB".into());
    }
    Ok(passed(notes.join("; ")))
}

/// Host memory through `wasi:http` `fields`: each is capped (and going over its cap traps,
/// which would end the attack), their number may not be. So: many small ones, 16 KiB each
/// (two 8 KiB headers, under any sensible per-fields cap), up to 1 GiB in all.
fn fields_flood() -> Result<RunReport, PluginError> {
    use wasip2::http::types::Fields;
    let value = vec![b'a'; 8 << 10];
    let mut held = Vec::new();
    let mut bytes = 0usize;
    for i in 0..65_536 {
        let fields = Fields::new();
        for j in 0..2 {
            if let Err(e) = fields.append(&format!("x-pad-{j}"), &value) {
                return Ok(passed(format!("refused after {i} fields ({} MiB): {e:?}", bytes >> 20)));
            }
            bytes += value.len();
        }
        held.push(fields);
    }
    let message = format!(
        "holding {} fields, {} MiB of headers in the host",
        held.len(),
        bytes >> 20
    );
    std::mem::forget(held);
    Ok(passed(message))
}

/// Host memory through request bodies that never end: 40 × 15 MiB.
fn body_flood(url: &str) -> Result<RunReport, PluginError> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, Method, OutgoingRequest, Scheme};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| tollgate_sdk::invalid_input("arg", "an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let chunk = vec![b'b'; 64 << 10];
    let per_request = 15usize << 20;
    let mut held = Vec::new();
    let mut total = 0usize;
    for i in 0..40 {
        let request = OutgoingRequest::new(Fields::new());
        let _ = request.set_method(&Method::Post);
        let _ = request.set_scheme(Some(&Scheme::Http));
        let _ = request.set_authority(Some(authority));
        let _ = request.set_path_with_query(Some(path));
        let body = request.body().map_err(|()| PluginError::Internal("no body".into()))?;
        let stream = body
            .write()
            .map_err(|()| PluginError::Internal("no body stream".into()))?;
        let future = match outgoing_handler::handle(request, None) {
            Ok(f) => f,
            Err(e) => {
                return Ok(passed(format!(
                    "refused at request {i} after {} MiB: {e:?}",
                    total >> 20
                )));
            }
        };
        let mut written = 0;
        while written < per_request {
            let permit = match stream.check_write() {
                Ok(n) => n as usize,
                Err(_) => break,
            };
            if permit == 0 {
                stream.subscribe().block();
                continue;
            }
            let n = permit.min(chunk.len()).min(per_request - written);
            if stream.write(&chunk[..n]).is_err() {
                break;
            }
            written += n;
        }
        total += written;
        // Never finished: the host keeps waiting for the rest.
        held.push((stream, body, future));
    }
    let message = format!(
        "holding {} open request bodies, {} MiB written",
        held.len(),
        total >> 20
    );
    std::mem::forget(held);
    Ok(passed(message))
}

/// Distinct contents (no deduplication) until the host says no.
fn artifact_flood() -> Result<RunReport, PluginError> {
    let mut data = vec![0u8; 8 << 20];
    for i in 0..300u32 {
        data[..4].copy_from_slice(&i.to_le_bytes());
        if let Err(e) = artifacts::put(&format!("flood/{i}.bin"), "application/octet-stream", &data) {
            return Ok(passed(format!("refused after {i} puts ({} MiB): {e:?}", i * 8)));
        }
    }
    Ok(passed("accepted 300 puts (2400 MiB)"))
}

/// GET `url`; the result or the error, as text.
fn fetch(url: &str) -> String {
    use wstd::http::{Body, Client, Request};
    wstd::runtime::block_on(async {
        let request = match Request::get(url).body(Body::empty()) {
            Ok(r) => r,
            Err(e) => return format!("error: {e}"),
        };
        let mut client = Client::new();
        client.set_connect_timeout(std::time::Duration::from_secs(3));
        client.set_first_byte_timeout(std::time::Duration::from_secs(5));
        match client.send(request).await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let body = response
                    .body_mut()
                    .str_contents()
                    .await
                    .map(str::to_string)
                    .unwrap_or_default();
                format!("status {status}: {body}")
            }
            Err(e) => match e.downcast_ref::<wstd::http::ErrorCode>() {
                Some(code) => format!("error: {code:?}"),
                None => format!("error: {e:#}"),
            },
        }
    })
}

tollgate_sdk::export_plugin!(Hostile);
