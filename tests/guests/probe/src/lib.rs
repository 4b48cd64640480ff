//! A hostile plugin for the sandbox tests: each `attack` input tries to cross one
//! boundary and reports what happened in its `result` output.

use tollgate_sdk::{
    Capability, Inputs, Plugin, PluginError, PluginInfo, RunReport, Status, StepContext, ValueKind, input, output,
    request, set_output,
};

struct Probe;

impl Plugin for Probe {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "probe".into(),
            version: "0.1.0".into(),
            summary: "Tries to escape the sandbox.".into(),
            inputs: vec![
                input("attack", ValueKind::String, "which boundary to try").required(),
                input("arg", ValueKind::String, "a path, URL or name"),
            ],
            outputs: vec![output("result", "what happened"), output("extra", "spare output")],
            capabilities: vec![
                request(Capability::Net("http://*:*".into()), "probe").optional(),
                request(Capability::Net("https://*:*".into()), "probe").optional(),
                request(Capability::Read, "probe").optional(),
                request(Capability::Write, "probe").optional(),
                request(Capability::Secret("PROBE_SECRET".into()), "probe").optional(),
            ],
        }
    }

    fn run(inputs: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        let attack: String = inputs.require("attack")?;
        let arg: String = inputs.get("arg")?.unwrap_or_default();
        let result = match attack.as_str() {
            "read-file" => describe(std::fs::read(&arg).map(|b| format!("read {} bytes", b.len()))),
            "write-file" => describe(std::fs::write(&arg, b"pwned").map(|()| "wrote".to_string())),
            "list-dir" => describe(std::fs::read_dir(&arg).map(|d| {
                let names: Vec<String> = d
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                format!("listed {}", names.join(","))
            })),
            "http-get" => http_get(&arg),
            "http-put-json" => http_put_json(&arg),
            "env" => format!("env: {:?}", std::env::vars().collect::<Vec<_>>()),
            "loop" => loop {
                std::hint::black_box(());
            },
            "memory" => {
                let mut hog: Vec<Vec<u8>> = Vec::new();
                loop {
                    hog.push(vec![1u8; 16 << 20]);
                    std::hint::black_box(&hog);
                }
            }
            "log-flood" => {
                let line = "x".repeat(64 << 10);
                for _ in 0..200 {
                    tollgate_sdk::info(&line);
                }
                "flooded".into()
            }
            "output-flood" => match tollgate_sdk::outputs::set("result", &"y".repeat(2 << 20)) {
                Ok(()) => "accepted 2 MiB".into(),
                Err(e) => format!("refused: {e}"),
            },
            "undeclared-output" => match tollgate_sdk::outputs::set("surprise", "1") {
                Ok(()) => "accepted".into(),
                Err(e) => format!("refused: {e}"),
            },
            "inject-log" => {
                tollgate_sdk::info(&arg);
                tollgate_sdk::error(&arg);
                "logged".into()
            }
            "inject-output" => {
                set_output("extra", &arg)?;
                "set".into()
            }
            "secret" => match tollgate_sdk::secrets::get(&arg) {
                Ok(value) => {
                    tollgate_sdk::info(&format!("the secret is {value}"));
                    set_output("extra", &value)?;
                    "got it".into()
                }
                Err(e) => format!("refused: {e}"),
            },
            "secret-in-errors" => {
                let value = tollgate_sdk::secrets::get(&arg).map_err(PluginError::Internal)?;
                println!("printing the secret: {value}");
                return Err(PluginError::Peer(format!("the peer said {value}")));
            }
            "panic" => {
                eprintln!("probe: about to fail while parsing the plan");
                panic!("probe gave up: unexpected token at line 3");
            }
            // Everything a plugin can write, carrying `arg`: the leak search's witness.
            "echo-everywhere" => {
                tollgate_sdk::info(&format!("log: {arg}"));
                tollgate_sdk::append_summary(&format!("summary: {arg}"));
                set_output("extra", &format!("output: {arg}"))?;
                let stored = tollgate_sdk::artifacts::put("echo", "text/plain", format!("artifact: {arg}").as_bytes());
                format!("echoed ({})", stored.unwrap_or_else(|e| format!("{e:?}")))
            }
            "artifact-put" => match tollgate_sdk::artifacts::put(&arg, "text/plain", b"probe artifact bytes") {
                Ok(digest) => format!("stored {digest}"),
                Err(e) => format!("error: {e:?}"),
            },
            "artifact-get" => match tollgate_sdk::artifacts::get(&arg) {
                Ok(a) => format!("got {} {}: {}", a.name, a.digest, String::from_utf8_lossy(&a.data)),
                Err(e) => format!("error: {e:?}"),
            },
            other => {
                return Err(tollgate_sdk::invalid_input(
                    "attack",
                    format!("unknown attack `{other}`"),
                ));
            }
        };
        set_output("result", &result)?;
        Ok(RunReport {
            status: Status::Passed,
            message: result,
        })
    }
}

fn describe<T>(r: std::io::Result<T>) -> String
where
    T: Into<String>,
{
    match r {
        Ok(v) => v.into(),
        Err(e) => format!("error: {e}"),
    }
}

/// A GET through the SDK's HTTP helper: `status N: body`, or `error: ` and the typed error's
/// message (a refusal reads "… was denied by the sandbox: this step does not grant <origin>").
fn http_get(url: &str) -> String {
    match tollgate_sdk::http::Request::get(url).send() {
        Ok(response) => format!("status {}: {}", response.status(), response.text()),
        Err(e) => format!("error: {e}"),
    }
}

/// A PUT with a JSON body: a refused request with a body must still read as denied.
fn http_put_json(url: &str) -> String {
    let request = tollgate_sdk::http::Request::put(url).json(&serde_json::json!({"probe": true}));
    match request.send() {
        Ok(response) => format!("status {}: {}", response.status(), response.text()),
        Err(e) => format!("error: {e}"),
    }
}

tollgate_sdk::export_plugin!(Probe);
