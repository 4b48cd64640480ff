//! The test harness keeps the host's promises: what it records, and above all what it refuses
//! (a test must not pass under `MockHost` where the real host would say no).

use serde_json::json;
use std::cell::RefCell;
use std::time::Duration;
use tollgate_sdk::http::{HttpError, Request};
use tollgate_sdk::runtime::{Instant, block_on, join_all};
use tollgate_sdk::testing::{GithubAnswer, GithubCall, MockHost, MockResponse, Outcome};
use tollgate_sdk::{
    Capability, GithubPermission, Inputs, Level, Location, Plugin, PluginError, PluginInfo, RunReport, Status,
    StepContext, ValueKind, input, output, request,
};

type Script = Box<dyn Fn(&Inputs) -> Result<RunReport, PluginError>>;

thread_local! {
    static SCRIPT: RefCell<Option<Script>> = const { RefCell::new(None) };
    static RAN: RefCell<bool> = const { RefCell::new(false) };
}

/// A plugin whose `run` is the closure the test gives.
struct Scripted;

impl Plugin for Scripted {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "scripted".into(),
            version: "1.0.0".into(),
            summary: "A plugin each test scripts".into(),
            inputs: vec![
                input("name", ValueKind::String, "Who to greet.").required(),
                input("count", ValueKind::Number, "How many.").default_json(json!(2)),
                input("verbose", ValueKind::Boolean, "Say more."),
                input("wait", ValueKind::Duration, "How long.").default_json(json!("1s")),
                input("tags", ValueKind::List, "Labels."),
                input("opts", ValueKind::Object, "Options."),
                input("url", ValueKind::String, "A URL to fetch.").grants_origins(),
                input("fallback-url", ValueKind::String, "A URL the plugin defaults.")
                    .default_json(json!("https://default.example.com/")),
            ],
            outputs: vec![output("greeting", "The greeting."), output("count", "How many.")],
            capabilities: vec![
                request(Capability::Net("https://*:*".into()), "to fetch `url`").optional(),
                request(Capability::Net("http://127.0.0.1:*".into()), "local test servers").optional(),
                request(Capability::Secret("TOKEN".into()), "to authenticate").optional(),
                request(Capability::Github(GithubPermission::IssuesWrite), "to comment").optional(),
            ],
        }
    }

    fn run(inputs: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        RAN.with(|r| *r.borrow_mut() = true);
        SCRIPT.with(|s| (s.borrow().as_ref().expect("a script"))(&inputs))
    }
}

fn passed(message: &str) -> Result<RunReport, PluginError> {
    Ok(RunReport {
        status: Status::Passed,
        message: message.into(),
    })
}

/// Run `Scripted` with this script; also says whether `run` was reached.
fn run(host: MockHost, script: impl Fn(&Inputs) -> Result<RunReport, PluginError> + 'static) -> (Outcome, bool) {
    SCRIPT.with(|s| *s.borrow_mut() = Some(Box::new(script)));
    RAN.with(|r| *r.borrow_mut() = false);
    let outcome = host.run::<Scripted>();
    (outcome, RAN.with(|r| *r.borrow()))
}

fn ada() -> MockHost {
    MockHost::new().input("name", "Ada")
}

fn invalid(outcome: &Outcome) -> (String, String) {
    match &outcome.result {
        Err(PluginError::InvalidInput(e)) => (e.input.clone(), e.message.clone()),
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

#[test]
fn every_channel_is_recorded() {
    let (o, _) = run(ada(), |inputs| {
        let name: String = inputs.require("name")?;
        tollgate_sdk::info(&format!("hello {name}"));
        tollgate_sdk::debug("details");
        tollgate_sdk::warn("careful");
        tollgate_sdk::log::annotate(
            Level::Error,
            "bad line",
            &Location {
                file: "src/main.rs".into(),
                line: Some(3),
                end_line: None,
                column: None,
                end_column: None,
            },
        );
        tollgate_sdk::log::group_start("checks");
        tollgate_sdk::log::progress("halfway", Some(0.5));
        tollgate_sdk::log::group_end();
        tollgate_sdk::set_output("greeting", &format!("Hello, {name}!"))?;
        tollgate_sdk::set_output("count", "1")?;
        tollgate_sdk::set_output("count", "2")?;
        tollgate_sdk::append_summary("## Report\n");
        tollgate_sdk::append_summary("all good\n");
        let digest = tollgate_sdk::artifacts::put("report.json", "application/json", b"{}").unwrap();
        assert_eq!(
            digest,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(tollgate_sdk::artifacts::get(&digest).unwrap().name, "report.json");
        passed("done")
    });
    assert_eq!(o.result.as_ref().unwrap().message, "done");
    assert_eq!(o.status(), Some(Status::Passed));
    assert_eq!(o.output("greeting"), Some("Hello, Ada!"));
    assert_eq!(o.output("count"), Some("2"), "a later set replaces the value");
    assert!(o.logged("hello Ada") && !o.logged("nobody"));
    assert_eq!(o.logs[1], (Level::Debug, "details".to_string()));
    assert_eq!(o.annotations.len(), 2);
    assert_eq!(
        (o.annotations[0].level, o.annotations[0].location.is_none()),
        (Level::Warning, true)
    );
    let location = o.annotations[1].location.as_ref().unwrap();
    assert_eq!((location.file.as_str(), location.line), ("src/main.rs", Some(3)));
    assert_eq!(o.summary, "## Report\nall good\n");
    assert_eq!(o.groups, ["checks"]);
    assert_eq!(o.progress, [("halfway".to_string(), Some(0.5))]);
    assert_eq!(o.artifacts.len(), 1);
    assert_eq!(
        (o.artifacts[0].media_type.as_str(), o.artifacts[0].data.as_slice()),
        ("application/json", &b"{}"[..])
    );
}

#[test]
fn defaults_are_applied_and_scalars_become_strings_for_string_inputs() {
    let (o, _) = run(MockHost::new().input("name", 42), |inputs| {
        assert_eq!(inputs.raw("name"), Some(&json!("42")));
        assert_eq!(inputs.raw("count"), Some(&json!(2)));
        assert_eq!(inputs.duration("wait")?, Some(Duration::from_secs(1)));
        assert_eq!(inputs.raw("verbose"), None, "no default, not given");
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
}

#[test]
fn a_missing_required_input_is_refused_before_run() {
    let (o, ran) = run(MockHost::new(), |_| passed("ran"));
    assert!(!ran);
    assert_eq!(
        invalid(&o),
        (
            "name".to_string(),
            "scripted requires it (Who to greet.); pass `--with name=…`".to_string()
        )
    );
    assert_eq!(
        o.error_message().unwrap(),
        "input `name`: scripted requires it (Who to greet.); pass `--with name=…`"
    );
}

#[test]
fn an_undeclared_input_is_refused_before_run() {
    let (o, ran) = run(ada().input("nmae", "x"), |_| passed("ran"));
    assert!(!ran);
    let (input, message) = invalid(&o);
    assert_eq!(input, "nmae");
    assert_eq!(
        message,
        "scripted has no such input; it takes: name, count, verbose, wait, tags, opts, url, fallback-url"
    );
}

#[test]
fn every_kind_is_checked_as_the_host_checks_it() {
    let wrong = [
        ("count", json!("two"), "expected a number, got \"two\""),
        ("verbose", json!("yes"), "expected true or false, got \"yes\""),
        ("wait", json!(true), "expected a duration such as `5s`, got true"),
        ("tags", json!("a,b"), "expected a list, got \"a,b\""),
        ("opts", json!([1]), "expected a mapping, got [1]"),
        ("name", json!(["Ada"]), "expected a string, got [\"Ada\"]"),
    ];
    for (name, value, message) in wrong {
        let (o, ran) = run(ada().input(name, value), |_| passed("ran"));
        assert!(!ran, "{name}");
        assert_eq!(invalid(&o), (name.to_string(), message.to_string()));
    }
    let right = ada()
        .input("count", 3.5)
        .input("verbose", false)
        .input("wait", 5)
        .input("tags", json!(["a"]))
        .input("opts", json!({"k": 1}));
    let (o, ran) = run(right, |_| passed("ran"));
    assert!(ran && o.result.is_ok(), "{:?}", o.result);
}

#[test]
fn an_undeclared_output_is_refused() {
    let (o, _) = run(ada(), |_| {
        tollgate_sdk::set_output("greting", "hi")?;
        passed("unreachable")
    });
    assert_eq!(
        o.result,
        Err(PluginError::Internal(
            "output `greting` is not declared in describe (declared: count, greeting)".into()
        ))
    );
    assert!(o.outputs.is_empty());
}

fn get(url: &str) -> Result<tollgate_sdk::http::Response, HttpError> {
    Request::get(url).send()
}

#[test]
fn granted_origins_are_answered_by_routes_and_the_responder() {
    let host = ada()
        .grant_origin("https://api.example.com")
        .respond(
            "GET",
            "https://api.example.com/users/ada",
            MockResponse::json(200, json!({"id": 1})).header("X-Region", "eu"),
        )
        .http(|req| MockResponse::text(404, &format!("no {}", req.url)));
    let (o, _) = run(host, |_| {
        let r = get("https://API.example.com/users/ada").unwrap();
        assert_eq!((r.status(), r.header("x-region")), (200, Some("eu")));
        assert_eq!(r.json::<serde_json::Value>().unwrap()["id"], 1);
        let r = Request::post("https://api.example.com/users")
            .json(&json!({"name": "Bob"}))
            .send()
            .unwrap();
        assert_eq!(
            (r.status(), r.text().as_ref()),
            (404, "no https://api.example.com/users")
        );
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
    assert_eq!(o.requests.len(), 2);
    assert_eq!(
        o.requests[1].json::<serde_json::Value>().unwrap(),
        json!({"name": "Bob"})
    );
    assert_eq!(o.requests[1].header("content-type"), Some("application/json"));
    assert!(o.requests[0].header("user-agent").unwrap().starts_with("tollgate-sdk/"));
}

#[test]
fn an_ungranted_origin_is_denied_even_when_a_response_is_mocked() {
    let host = ada()
        .grant_origin("https://api.example.com")
        .respond("GET", "https://evil.example.com/", MockResponse::new(200))
        .respond("GET", "https://api.example.com:8443/", MockResponse::new(200));
    let (o, _) = run(host, |_| {
        for url in ["https://evil.example.com/", "https://api.example.com:8443/"] {
            let e = get(url).unwrap_err();
            assert!(matches!(e, HttpError::Denied { .. }), "{url}: {e:?}");
        }
        Err(get("https://evil.example.com/").unwrap_err().into())
    });
    assert!(o.requests.is_empty(), "denied requests never reach the network");
    assert_eq!(
        o.result,
        Err(PluginError::Denied(
            "the request to https://evil.example.com was denied by the sandbox: this step does not grant https://evil.example.com"
                .into()
        ))
    );
    assert!(
        o.host_notices[0].contains("`--allow-net https://evil.example.com:443`"),
        "{:?}",
        o.host_notices
    );
}

#[test]
fn a_grant_the_plugin_did_not_request_gives_nothing() {
    // Scripted requests https on any host and http only on 127.0.0.1.
    let host = ada()
        .grant_origin("http://api.example.com")
        .http(|_| MockResponse::new(200));
    let (o, _) = run(host, |_| {
        assert!(matches!(get("http://api.example.com/"), Err(HttpError::Denied { .. })));
        passed("ok")
    });
    assert!(o.result.is_ok() && o.requests.is_empty());
}

#[test]
fn urls_the_author_wrote_grant_their_origin_but_defaults_do_not() {
    let host = ada()
        .input("url", "https://written.example.com/health")
        .http(|_| MockResponse::new(204));
    let (o, _) = run(host, |inputs| {
        let url: String = inputs.require("url")?;
        assert_eq!(get(&url).unwrap().status(), 204);
        assert_eq!(
            get("https://written.example.com/other").unwrap().status(),
            204,
            "the whole origin"
        );
        let fallback: String = inputs.require("fallback-url")?;
        assert!(
            matches!(get(&fallback), Err(HttpError::Denied { .. })),
            "a default grants nothing"
        );
        assert!(matches!(
            get("https://other.example.com/"),
            Err(HttpError::Denied { .. })
        ));
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
}

#[test]
fn metadata_and_link_local_addresses_are_never_reachable() {
    let host = ada()
        .grant_origin("https://*:*")
        .grant_origin("http://127.0.0.1:*")
        .http(|_| MockResponse::new(200));
    let (o, _) = run(host, |_| {
        assert!(matches!(
            get("https://169.254.169.254/latest"),
            Err(HttpError::Denied { .. })
        ));
        assert!(matches!(get("https://[fe80::1]/"), Err(HttpError::Denied { .. })));
        assert_eq!(get("http://127.0.0.1:9000/").unwrap().status(), 200);
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
}

#[test]
fn an_unmocked_request_gets_a_501_naming_what_to_mock() {
    let (o, _) = run(ada().grant_origin("https://api.example.com"), |_| {
        let r = get("https://api.example.com/v1/x?y=1").unwrap();
        assert_eq!(r.status(), 501);
        assert!(
            r.text()
                .contains(r#".respond("GET", "https://api.example.com/v1/x?y=1""#),
            "{}",
            r.text()
        );
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
    assert!(
        o.host_notices
            .iter()
            .any(|n| n.contains("GET https://api.example.com/v1/x?y=1"))
    );
}

#[test]
fn time_is_virtual_timeouts_fire_and_retries_back_off() {
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = calls.clone();
    let host = ada()
        .grant_origin("https://api.example.com")
        .respond(
            "GET",
            "https://api.example.com/slow",
            MockResponse::new(200).delay(Duration::from_secs(60)),
        )
        .http(move |_| {
            seen.set(seen.get() + 1);
            if seen.get() < 3 {
                MockResponse::new(503)
            } else {
                MockResponse::new(200)
            }
        });
    let (o, _) = run(host, |_| {
        let start = Instant::now();
        let e = Request::get("https://api.example.com/slow")
            .timeout(Duration::from_secs(2))
            .send()
            .unwrap_err();
        assert!(matches!(e, HttpError::Timeout { after, .. } if after == Duration::from_secs(2)));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let start = Instant::now();
        let r = Request::get("https://api.example.com/flaky").retries(3).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(start.elapsed(), Duration::from_millis(250 + 500), "two backoff pauses");
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
    assert_eq!(calls.get(), 3);
}

#[test]
fn concurrent_requests_overlap() {
    let host = ada()
        .grant_origin("https://*.example.com")
        .http(|_| MockResponse::new(200).delay(Duration::from_millis(200)));
    let (o, _) = run(host, |_| {
        let start = Instant::now();
        let statuses = block_on(join_all((0..100).map(|i| async move {
            Request::get(format!("https://r{i}.example.com/"))
                .send_async()
                .await
                .map(|r| r.status())
        })));
        assert_eq!(statuses.len(), 100);
        assert!(statuses.iter().all(|s| *s == Ok(200)));
        assert_eq!(start.elapsed(), Duration::from_millis(200), "all in flight together");
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
    assert_eq!(o.requests.len(), 100);
}

#[test]
fn the_body_limit_applies() {
    let host = ada()
        .grant_origin("https://api.example.com")
        .http(|_| MockResponse::text(200, &"x".repeat(100)));
    let (o, _) = run(host, |_| {
        let e = Request::get("https://api.example.com/")
            .max_body(10)
            .send()
            .unwrap_err();
        assert_eq!(e, HttpError::BodyTooLarge { limit: 10 });
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
}

#[test]
fn github_calls_need_a_granted_and_requested_permission() {
    let script = |_: &Inputs| {
        let comment =
            tollgate_sdk::github::create_comment(7, "first").map_err(|e| PluginError::Denied(format!("{e:?}")))?;
        assert_eq!(comment.author, "tollgate[bot]");
        passed("ok")
    };
    let (o, _) = run(ada(), script);
    assert!(
        matches!(&o.result, Err(PluginError::Denied(m)) if m.contains("issues:write")),
        "{:?}",
        o.result
    );
    assert_eq!(
        o.github_calls,
        [GithubCall::CreateComment {
            issue: 7,
            body: "first".into()
        }]
    );

    // Granted but not requested by the plugin: still denied, and the host says why.
    let (o, _) = run(ada().grant_github(GithubPermission::ContentsWrite), |_| {
        let e = tollgate_sdk::github::create_ref("refs/x", "abc").unwrap_err();
        assert!(matches!(e, tollgate_sdk::github::GithubError::Denied(_)));
        passed("ok")
    });
    assert!(o.result.is_ok());
    assert!(
        o.host_notices
            .iter()
            .any(|n| n.contains("did not request the GitHub permission contents:write"))
    );

    // A test's own answer cannot bypass the permission either.
    let host = ada().github(|_| Some(GithubAnswer::Comments(Vec::new())));
    let (o, _) = run(host, |_| {
        assert!(tollgate_sdk::github::list_comments(7).is_err());
        passed("ok")
    });
    assert!(o.result.is_ok());
}

#[test]
fn the_github_fake_keeps_what_the_plugin_created() {
    let host = ada().grant_github(GithubPermission::IssuesWrite);
    let (o, _) = run(host, |_| {
        use tollgate_sdk::github;
        let first = github::create_comment(7, "first").unwrap();
        github::create_comment(8, "elsewhere").unwrap();
        github::update_comment(first.id, "edited").unwrap();
        let listed = github::list_comments(7).unwrap();
        assert_eq!(listed.iter().map(|c| c.body.as_str()).collect::<Vec<_>>(), ["edited"]);
        github::delete_comment(first.id).unwrap();
        assert!(github::list_comments(7).unwrap().is_empty());
        assert!(matches!(
            github::delete_comment(first.id),
            Err(github::GithubError::NotFound(_))
        ));
        let issue = github::create_issue("flaky", "body", &["ci".into()]).unwrap();
        assert_eq!(github::find_issues(&["ci".into()], "open").unwrap().len(), 1);
        github::update_issue(issue.number, None, None, Some("closed")).unwrap();
        assert!(github::find_issues(&["ci".into()], "open").unwrap().is_empty());
        assert_eq!(github::find_issues(&[], "all").unwrap().len(), 1);
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
    assert_eq!(o.github_calls.len(), 12);
}

#[test]
fn the_tests_own_github_answers_come_after_the_permission_check() {
    let host = ada()
        .grant_github(GithubPermission::IssuesWrite)
        .github(|call| match call {
            GithubCall::ListComments { issue: 1 } => Some(GithubAnswer::Error(
                tollgate_sdk::github::GithubError::RateLimited("slow down".into()),
            )),
            _ => None,
        });
    let (o, _) = run(host, |_| {
        assert!(matches!(
            tollgate_sdk::github::list_comments(1),
            Err(tollgate_sdk::github::GithubError::RateLimited(_))
        ));
        assert!(
            tollgate_sdk::github::list_comments(2).unwrap().is_empty(),
            "the fake answers the rest"
        );
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
}

#[test]
fn secrets_are_granted_only_when_requested_and_always_masked() {
    let (o, _) = run(ada().secret("TOKEN", "s3cr3t"), |_| {
        let token = tollgate_sdk::secrets::get("TOKEN").unwrap();
        tollgate_sdk::info(&format!("using {token}"));
        tollgate_sdk::warn(&format!("warned {token}"));
        tollgate_sdk::set_output("greeting", &token)?;
        tollgate_sdk::append_summary(&format!("token: {token}"));
        Err(PluginError::Peer(format!("the API refused {token}")))
    });
    assert!(o.logged("using ***") && !o.logged("s3cr3t"));
    assert_eq!(o.annotations[0].message, "warned ***");
    assert_eq!(o.output("greeting"), Some("***"));
    assert_eq!(o.summary, "token: ***");
    assert_eq!(o.result, Err(PluginError::Peer("the API refused ***".into())));

    let (o, _) = run(ada().secret("OTHER", "x"), |_| {
        assert_eq!(
            tollgate_sdk::secrets::get("OTHER").unwrap_err(),
            "the secret `OTHER` is not granted to this step; add `--secret OTHER` / `secrets: OTHER`"
        );
        passed("ok")
    });
    assert!(o.result.is_ok());
}

/// Requires what `Scripted` only asks for optionally.
struct Needy;

impl Plugin for Needy {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "needy".into(),
            version: "0.1.0".into(),
            summary: "Needs things".into(),
            inputs: vec![],
            outputs: vec![],
            capabilities: vec![
                request(Capability::Net("https://*".into()), "to call the API"),
                request(Capability::Secret("TOKEN".into()), "to authenticate"),
            ],
        }
    }

    fn run(_: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        panic!("must not run without its grants")
    }
}

#[test]
fn a_required_capability_without_a_grant_stops_the_step_before_run() {
    let o = MockHost::new().grant_origin("https://api.example.com").run::<Needy>();
    assert_eq!(
        o.result,
        Err(PluginError::Denied(
            "needy needs the secret `TOKEN`, which this step does not grant (to authenticate).\n  \
             fix: add `--secret TOKEN` / `secrets: TOKEN` and set the environment variable TOKEN"
                .into()
        ))
    );
    let o = MockHost::new().secret("TOKEN", "t").run::<Needy>();
    assert!(
        matches!(&o.result, Err(PluginError::Denied(m)) if m.starts_with("needy needs network access (https://*)")),
        "{:?}",
        o.result
    );
}

/// Declares an output the host reserves.
struct Reserved;

impl Plugin for Reserved {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "reserved".into(),
            version: "0.1.0".into(),
            summary: "Bad describe".into(),
            inputs: vec![],
            outputs: vec![output("Status", "clashes with the host's")],
            capabilities: vec![],
        }
    }

    fn run(_: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
        panic!("must not run")
    }
}

#[test]
fn a_describe_the_host_refuses_is_refused() {
    let o = MockHost::new().run::<Reserved>();
    assert!(
        matches!(&o.result, Err(PluginError::Internal(m)) if m.contains("under a name the host reserves")),
        "{:?}",
        o.result
    );
}

#[test]
fn artifacts_come_from_the_store_or_are_unavailable() {
    let host = ada().artifact("plan.txt", "text/plain", "earlier");
    let (o, _) = run(host, |_| {
        let a = tollgate_sdk::artifacts::get("plan.txt").unwrap();
        assert_eq!(a.data, b"earlier");
        assert!(matches!(
            tollgate_sdk::artifacts::get("nope"),
            Err(tollgate_sdk::artifacts::ArtifactError::NotFound(_))
        ));
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
    assert!(o.artifacts.is_empty(), "only what the run stored");
    let (o, _) = run(ada().without_artifact_store(), |_| {
        assert!(matches!(
            tollgate_sdk::artifacts::put("x", "text/plain", b"x"),
            Err(tollgate_sdk::artifacts::ArtifactError::Unavailable(_))
        ));
        passed("ok")
    });
    assert!(o.result.is_ok());
}

#[test]
fn certificates_need_the_origin_granted() {
    let cert = tollgate_sdk::tls::Certificate {
        subject: "CN=api.example.com".into(),
        issuer: "CN=Test CA".into(),
        not_before: 0,
        not_after: 4_000_000_000,
        dns_names: vec!["api.example.com".into()],
    };
    let host = ada()
        .grant_origin("https://api.example.com")
        .certificate("https://api.example.com", cert.clone())
        .certificate("https://other.example.com", cert.clone());
    let (o, _) = run(host, move |_| {
        assert_eq!(
            tollgate_sdk::tls::peer_certificate("https://api.example.com").unwrap(),
            cert
        );
        let e = tollgate_sdk::tls::peer_certificate("https://other.example.com").unwrap_err();
        assert!(e.contains("denied by the sandbox"), "{e}");
        passed("ok")
    });
    assert!(o.result.is_ok(), "{:?}", o.result);
}

#[test]
#[should_panic(expected = "no MockHost is running: call this plugin through tollgate_sdk::testing::MockHost::run")]
fn host_calls_outside_a_mock_host_panic_clearly() {
    tollgate_sdk::info("hello");
}

#[test]
fn a_panicking_plugin_leaves_the_thread_clean() {
    let result = std::panic::catch_unwind(|| run(ada(), |_| panic!("boom")));
    assert!(result.is_err());
    let (o, _) = run(ada(), |_| passed("again"));
    assert!(o.result.is_ok(), "{:?}", o.result);
}

#[test]
fn typed_inputs_read_what_the_mock_host_resolved() {
    #[derive(tollgate_sdk::Inputs)]
    struct Config {
        /// Who to greet.
        #[input(required)]
        name: String,
        /// How many.
        #[input(default = 2)]
        count: u32,
    }
    struct Typed;
    impl Plugin for Typed {
        fn describe() -> PluginInfo {
            PluginInfo {
                name: "typed".into(),
                version: "0.1.0".into(),
                summary: "Typed inputs".into(),
                inputs: <Config as tollgate_sdk::TypedInputs>::specs(),
                outputs: vec![output("greeting", "The greeting.")],
                capabilities: vec![],
            }
        }
        fn run(inputs: Inputs, _: StepContext) -> Result<RunReport, PluginError> {
            let c = <Config as tollgate_sdk::TypedInputs>::from_inputs(&inputs)?;
            tollgate_sdk::set_output("greeting", &format!("{}×{}", c.name, c.count))?;
            passed("ok")
        }
    }
    let o = MockHost::new().input("name", "Ada").run::<Typed>();
    assert_eq!(o.output("greeting"), Some("Ada×2"));
    // The host's kind check comes first; a whole-number check is the plugin's.
    let o = MockHost::new().input("name", "Ada").input("count", 2.5).run::<Typed>();
    assert!(
        matches!(&o.result, Err(PluginError::InvalidInput(e)) if e.input == "count" && e.message.contains("whole number")),
        "{:?}",
        o.result
    );
}
