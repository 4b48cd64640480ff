//! The `${{ }}` language: operators, GitHub's loose typing, functions, status functions and templates.

use serde_json::{Value, json};
use tollgate_pipeline::{Expr, JobStatus, StaticContext, Template};

fn ctx() -> StaticContext {
    StaticContext::new()
        .with("inputs", json!({ "region": "us-east", "n": 3, "flag": false, "regions": "[\"a\",\"b\"]", "empty": "" }))
        .with("env", json!({ "TF_IN_AUTOMATION": "1" }))
        .with("matrix", json!({ "region": "eu-west" }))
        .with(
            "steps",
            json!({
                "plan": { "outputs": { "digest": "sha256:ab", "x-y": "dash", "count": "2" }, "outcome": "success", "conclusion": "success" },
                "lock": { "outputs": {}, "outcome": "failure", "conclusion": "success" }
            }),
        )
}

#[track_caller]
fn eval_with(ctx: &StaticContext, source: &str) -> Value {
    match Expr::parse(source) {
        Ok(expr) => expr.eval(ctx).unwrap_or_else(|e| panic!("{source}: {e}")),
        Err(e) => panic!("{source}: {e} at {}", e.offset),
    }
}

#[test]
fn literals_paths_and_operators() {
    let ctx = ctx();
    let cases: &[(&str, Value)] = &[
        ("null", json!(null)),
        ("true", json!(true)),
        ("42", json!(42)),
        ("-1.5", json!(-1.5)),
        ("0xff", json!(255)),
        ("'it''s'", json!("it's")),
        ("steps.plan.outputs.digest", json!("sha256:ab")),
        ("steps.plan.outputs['x-y']", json!("dash")),
        ("steps['plan'].outcome", json!("success")),
        ("steps.plan.outputs.missing", json!(null)),
        ("steps.nope.outputs.x", json!(null)),
        ("inputs.region", json!("us-east")),
        ("env.TF_IN_AUTOMATION", json!("1")),
        ("matrix.region", json!("eu-west")),
        ("steps.lock.outcome", json!("failure")),
        ("inputs[matrix.region]", json!(null)),
        ("fromJSON(inputs.regions)[1]", json!("b")),
        ("!inputs.flag", json!(true)),
        ("!!inputs.region", json!(true)),
        ("(1 < 2) && (2 <= 2) && (3 > 2) && (3 >= 3)", json!(true)),
        ("1 < 2 == true", json!(true)),
        ("inputs.n > 2 && inputs.region != 'ap-south'", json!(true)),
        // `&&` and `||` return an operand, not a boolean.
        ("inputs.region && inputs.n", json!(3)),
        ("inputs.empty || 'fallback'", json!("fallback")),
        ("inputs.flag && 'never'", json!(false)),
        ("null || 0 || ''", json!("")),
        ("inputs.region || 'x'", json!("us-east")),
        ("!(true && false) || false", json!(true)),
    ];
    for (source, expected) in cases {
        assert_eq!(&eval_with(&ctx, source), expected, "{source}");
    }
}

#[test]
fn loose_equality_and_ordering() {
    let ctx = ctx();
    let cases: &[(&str, bool)] = &[
        ("'ABC' == 'abc'", true),
        ("inputs.region == 'US-EAST'", true),
        ("'1' == 1", true),
        ("'1.0' == 1", true),
        ("'' == 0", true),
        ("null == 0", true),
        ("null == ''", true),
        ("null == false", true),
        ("true == 1", true),
        ("'true' == true", false),
        ("'abc' == 0", false),
        ("steps.plan.outputs.count == 2", true),
        ("steps.plan.outputs.count > 1", true),
        ("'b' > 'A'", true),
        ("'a' < 'B'", true),
        ("'abc' < 1", false),
        ("'abc' >= 1", false),
        ("fromJSON('[1]') == fromJSON('[1]')", true),
        ("fromJSON('[1]') == 1", false),
        ("fromJSON('{}') != 'Object'", true),
        ("1 == 1.0", true),
        ("0xff == 255", true),
    ];
    for (source, expected) in cases {
        assert_eq!(eval_with(&ctx, source), json!(expected), "{source}");
    }
}

#[test]
fn functions() {
    let ctx = ctx();
    let cases: &[(&str, Value)] = &[
        ("contains('Hello world', 'WORLD')", json!(true)),
        ("contains(fromJSON(inputs.regions), 'A')", json!(true)),
        ("contains(fromJSON(inputs.regions), 'c')", json!(false)),
        ("contains(fromJSON('[1, 2]'), '2')", json!(true)),
        ("startsWith(inputs.region, 'US-')", json!(true)),
        ("endsWith(inputs.region, 'west')", json!(false)),
        (
            "format('{0}/{1} {{literal}}', inputs.region, inputs.n)",
            json!("us-east/3 {literal}"),
        ),
        ("format('{0}{0}', 'ab')", json!("abab")),
        ("join(fromJSON(inputs.regions))", json!("a,b")),
        ("join(fromJSON(inputs.regions), ' | ')", json!("a | b")),
        ("join('single', ',')", json!("single")),
        (
            "toJSON(fromJSON('{\"a\":[1,true]}'))",
            json!("{\n  \"a\": [\n    1,\n    true\n  ]\n}"),
        ),
        ("toJSON('x')", json!("\"x\"")),
        ("fromJSON('3') == 3", json!(true)),
        ("fromJSON('{\"a\":{\"b\":5}}').a.b", json!(5)),
        ("FROMJSON('true')", json!(true)),
    ];
    for (source, expected) in cases {
        assert_eq!(&eval_with(&ctx, source), expected, "{source}");
    }

    for (source, message) in [
        (
            "fromJSON('{nope')",
            "fromJSON: key must be a string at line 1 column 2 in `{nope`",
        ),
        ("format('{1}', 'a')", "format: `{1}` has no argument (1 given)"),
        ("format('{', 'a')", "format: bad placeholder in `{`"),
    ] {
        let expr = Expr::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(
            expr.eval(&ctx).map_err(|e| e.to_string()),
            Err(message.to_string()),
            "{source}"
        );
    }
}

#[test]
fn status_functions_under_each_job_status() {
    // (expression, under Success, under Failure, under Cancelled)
    let cases: &[(&str, [bool; 3])] = &[
        ("success()", [true, false, false]),
        ("failure()", [false, true, false]),
        ("cancelled()", [false, false, true]),
        ("always()", [true, true, true]),
        ("failure() || cancelled()", [false, true, true]),
        ("success() && inputs.region != 'ap-south'", [true, false, false]),
        ("!cancelled()", [true, true, false]),
    ];
    for (source, expected) in cases {
        let expr = Expr::parse_condition(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        for (status, want) in [JobStatus::Success, JobStatus::Failure, JobStatus::Cancelled]
            .into_iter()
            .zip(expected)
        {
            let ctx = ctx().with_status(status);
            assert_eq!(expr.eval_bool(&ctx), Ok(*want), "{source} under {status:?}");
        }
    }
}

#[test]
fn conditions_with_or_without_braces() {
    let ctx = ctx();
    for source in ["${{ inputs.n == 3 }}", "inputs.n == 3", "  ${{inputs.n == 3}}  "] {
        let expr = Expr::parse_condition(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(expr.source(), "inputs.n == 3");
        assert_eq!(expr.eval_bool(&ctx), Ok(true));
    }
    assert!(Expr::parse_condition("${{ a }} && ${{ b }}").is_err());
    assert!(Expr::parse_condition("success()").is_ok_and(|e| e.uses_status_function()));
    assert!(Expr::parse_condition("inputs.a").is_ok_and(|e| !e.uses_status_function()));
}

#[test]
fn templates_keep_types_when_they_are_one_expression() {
    let ctx = ctx();
    let cases: &[(&str, Value)] = &[
        ("${{ inputs.n }}", json!(3)),
        ("${{ inputs.flag }}", json!(false)),
        ("${{ fromJSON(inputs.regions) }}", json!(["a", "b"])),
        ("${{ steps.plan.outputs.missing }}", json!(null)),
        ("n=${{ inputs.n }}", json!("n=3")),
        (" ${{ inputs.n }}", json!(" 3")),
        ("${{ inputs.n }}${{ inputs.n }}", json!("33")),
        ("${{ inputs.region }}/${{ matrix.region }}", json!("us-east/eu-west")),
        ("plain text", json!("plain text")),
        ("", json!("")),
        ("${{ '}}' }}", json!("}}")),
        ("x ${{ fromJSON('[1,2]') }} ${{ null }}|", json!("x [1,2] |")),
        ("${{ 1.5 }} ${{ 2.0 }} ${{ true }}", json!("1.5 2 true")),
    ];
    for (source, expected) in cases {
        let template = Template::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(
            &template.eval(&ctx).unwrap_or_else(|e| panic!("{source}: {e}")),
            expected,
            "{source}"
        );
    }
    let template = Template::parse("${{ inputs.n }}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(template.render(&ctx), Ok("3".to_string()));
}

#[test]
fn parse_errors_have_offsets_and_hints() {
    let cases: &[(&str, &str, usize, Option<&str>)] = &[
        ("inputs.x = 'a'", "`=` is not an operator", 9, Some("compare with `==`")),
        ("a & b", "`&` is not an operator", 2, Some("write `&&`")),
        ("'open", "string is never closed with `'`", 0, None),
        ("(1", "expected `)`, found the end of the expression", 2, None),
        ("", "expected a value, found the end of the expression", 0, None),
        (
            "succes()",
            "unknown function `succes()`",
            0,
            Some("did you mean `success`?"),
        ),
        ("success(1)", "`success()` takes 0 arguments, found 1", 0, None),
        ("join()", "`join()` takes 1 or 2 arguments, found 0", 0, None),
        (
            "a.",
            "expected a property name after `.`, found the end of the expression",
            2,
            Some("names with other characters are written `['name']`"),
        ),
        (
            "1 2",
            "unexpected `2` after the expression",
            2,
            Some("join conditions with `&&` or `||`"),
        ),
        ("12abc", "`12abc` is not a number", 0, None),
        ("a # b", "`#` has no meaning in a pipeline expression", 2, None),
        ("a + 1", "`+`: there is no arithmetic in a pipeline expression", 2, None),
        ("a ~ b", "unexpected character `~`", 2, None),
    ];
    for (source, message, offset, hint) in cases {
        let err = Expr::parse(source).err().unwrap_or_else(|| panic!("{source} parsed"));
        assert_eq!(
            (err.message.as_str(), err.offset, err.hint.as_deref()),
            (*message, *offset, *hint),
            "{source}"
        );
    }
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    assert!(Expr::parse(&deep).is_err_and(|e| e.message.contains("nested too deeply")));

    let err = Template::parse("a ${{ 1 +").err().unwrap_or_else(|| panic!("parsed"));
    assert_eq!(
        (err.message.as_str(), err.offset),
        ("`${{` is never closed with `}}`", 2)
    );
    let err = Template::parse("ab ${{ x == }}")
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert_eq!(err.offset, 11, "{err}");
}

#[test]
fn references_list_what_an_expression_reads() {
    let expr =
        Expr::parse("steps.plan.outputs['x-y'] && matrix.region || inputs[matrix.key].z && format('{0}', env.A)")
            .unwrap_or_else(|e| panic!("{e}"));
    let refs: Vec<(String, Vec<String>, usize)> = expr
        .references()
        .into_iter()
        .map(|r| (r.root, r.path, r.offset))
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        refs,
        vec![
            ("steps".into(), s(&["plan", "outputs", "x-y"]), 0),
            ("matrix".into(), s(&["region"]), 29),
            ("inputs".into(), vec![], 46),
            ("matrix".into(), s(&["key"]), 53),
            ("env".into(), s(&["A"]), 84),
        ]
    );
}
