//! What users see when a pipeline file is wrong: every diagnostic, its position and its hint.

use tollgate_pipeline::parse;

/// The diagnostics for `text`, as printed.
fn diagnostics(text: &str) -> Vec<String> {
    match parse("p.yml", text) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
    }
}

#[track_caller]
fn check(cases: &[(&str, &str, &[&str])]) {
    for (what, text, expected) in cases {
        let got = diagnostics(text);
        assert_eq!(got, *expected, "{what}:\n{text}\n--- got:\n{}", got.join("\n"));
    }
}

#[test]
fn unknown_keys_are_reported_with_positions_and_hints() {
    check(&[
        (
            "misspelt step key",
            "steps:\n  - id: a\n    run: echo\n    contine-on-error: true\n",
            &[
                "p.yml:4:5: error: unknown key `contine-on-error` in step `a`\n  hint: did you mean `continue-on-error`?",
            ],
        ),
        (
            "misspelt top-level key",
            "name: x\nstep:\n  - id: a\n    run: echo\n",
            &[
                "p.yml:1:1: error: the pipeline has no `steps`\n  hint: list what the pipeline does under `steps:`",
                "p.yml:2:1: error: unknown key `step` in the pipeline\n  hint: did you mean `steps`?",
            ],
        ),
        (
            "key from GitHub Actions",
            "jobs: {}\nsteps:\n  - id: a\n    run: echo\n    timeout-minutes: 5\n",
            &[
                "p.yml:1:1: error: unknown key `jobs` in the pipeline\n  hint: a pipeline has no jobs: list its steps under `steps:`",
                "p.yml:5:5: error: unknown key `timeout-minutes` in step `a`\n  hint: write `timeout: 10m`",
            ],
        ),
        (
            "unknown grant in a flow mapping",
            "steps:\n  - id: a\n    uses: x\n    allow: { net: [https://a.example], netw: [] }\n",
            &["p.yml:4:40: error: unknown key `netw` in `allow`\n  hint: did you mean `net`?"],
        ),
        (
            "unknown key far from any",
            "steps:\n  - id: a\n    run: echo\n    zzzzzz: 1\n",
            &[
                "p.yml:4:5: error: unknown key `zzzzzz` in step `a`\n  hint: allowed keys are id, name, uses, run, steps, with, allow, if, continue-on-error, timeout, env, working-directory, artifacts, use-artifacts, matrix, max-parallel",
            ],
        ),
        (
            "duplicate key",
            "steps:\n  - id: a\n    run: echo\n    run: echo again\n",
            &["p.yml:4:5: error: duplicate key `run` in a step\n  hint: `run` is first set at line 3"],
        ),
    ]);
}

#[test]
fn step_shape_and_types() {
    check(&[
        (
            "no kind",
            "steps:\n  - id: a\n    name: nothing\n",
            &[
                "p.yml:2:5: error: step `a` has none of `uses`, `run` or `steps`\n  hint: a step runs a plugin (`uses:`), a command (`run:`) or a group of steps (`steps:`)",
            ],
        ),
        (
            "two kinds",
            "steps:\n  - id: a\n    uses: x\n    run: echo\n",
            &[
                "p.yml:4:5: error: step `a` has both `uses` and `run`\n  hint: a step does exactly one thing; split it into separate steps",
            ],
        ),
        (
            "missing id",
            "steps:\n  - run: echo\n",
            &[
                "p.yml:2:5: error: step has no `id`\n  hint: give every step an id, e.g. `id: plan`: ids name steps in logs and in `steps.<id>`",
            ],
        ),
        (
            "invalid and duplicate ids",
            "steps:\n  - id: 9lives\n    run: echo\n  - id: a\n    run: echo\n  - id: b\n    steps:\n      - id: a\n        run: echo\n",
            &[
                "p.yml:2:9: error: `9lives` is not a valid step id\n  hint: ids are letters, digits, `_` and `-`, starting with a letter or `_`",
                "p.yml:8:13: error: duplicate step id `a`\n  hint: `a` is first used at line 4; ids are unique across the whole file",
            ],
        ),
        (
            "duplicate between steps and finally",
            "steps:\n  - id: a\n    run: echo\nfinally:\n  - id: a\n    run: echo\n",
            &[
                "p.yml:5:9: error: duplicate step id `a`\n  hint: `a` is first used at line 2; ids are unique across the whole file",
            ],
        ),
        (
            "wrong types",
            "steps:\n  - id: a\n    run: [echo]\n    continue-on-error: yes\n  - id: b\n    uses: x\n    with: [1]\n",
            &[
                "p.yml:3:10: error: `run` must be a string, found a list",
                "p.yml:4:24: error: `continue-on-error` must be `true` or `false`, found a string\n  hint: write `true` or `false`",
                "p.yml:7:11: error: `with` must be a mapping, found a list",
            ],
        ),
        (
            "steps is not a list",
            "steps: echo hi\n",
            &[
                "p.yml:1:8: error: `steps` must be a list, found a string\n  hint: write a list: `[a, b]` or `- a` lines",
            ],
        ),
        (
            "keys for another kind of step",
            "steps:\n  - id: a\n    run: echo\n    with: { x: 1 }\n  - id: b\n    uses: x\n    env: { A: b }\n    working-directory: src\n",
            &[
                "p.yml:4:5: error: `with` does not apply to a `run` step\n  hint: plugin inputs go with `uses:`; a `run` step reads `env:`",
                "p.yml:7:5: error: `env` does not apply to a `uses` step\n  hint: plugins see no environment variables; pass values with `with:`",
                "p.yml:8:5: error: `working-directory` does not apply to a `uses` step\n  hint: only `run` steps have a working directory",
            ],
        ),
    ]);
}

#[test]
fn durations_sizes_and_grants() {
    check(&[
        (
            "durations",
            "steps:\n  - id: a\n    run: echo\n    timeout: 5\n  - id: b\n    run: echo\n    timeout: 5 minutes please\n  - id: c\n    run: echo\n    timeout: 0s\n",
            &[
                "p.yml:4:14: error: `timeout` `5` is not a valid duration: it has no unit\n  hint: write `5s` for seconds or `5m` for minutes",
                "p.yml:7:14: error: `timeout` `5 minutes please` is not a valid duration: it is not a number followed by `h`, `m`, `s` or `ms`\n  hint: write a duration such as `30s`, `5m`, `1h30m` or `300ms`",
                "p.yml:10:14: error: `timeout` `0s` is not a valid duration: it must be more than zero\n  hint: write a duration such as `30s`, `5m`, `1h30m` or `300ms`",
            ],
        ),
        (
            "memory",
            "steps:\n  - id: a\n    uses: x\n    allow: { memory: 256 }\n  - id: b\n    uses: x\n    allow: { memory: lots }\n",
            &[
                "p.yml:4:22: error: `allow.memory` `256` is not a valid size: it has no unit\n  hint: write `256MiB` for mebibytes",
                "p.yml:7:22: error: `allow.memory` `lots` is not a valid size: it is not a number followed by MiB, GiB, MB or GB\n  hint: write a size such as `256MiB` or `1GiB`",
            ],
        ),
        (
            "grants",
            "steps:\n  - id: a\n    uses: x\n    allow:\n      net: [example.com, \"https://${{ inputs.h }}\"]\n      github: [pull-request:write]\n      secrets: [MY-TOKEN]\n",
            &[
                "p.yml:5:13: error: `example.com` is not a valid origin: it has no `scheme://`\n  hint: write origins as scheme://host[:port], e.g. `https://api.example.com`, `http://127.0.0.1:8080`, `https://*.example.com`, `https://*:*` (port `*` = any port; no port = the scheme's default)",
                "p.yml:5:26: error: grants cannot use expressions\n  hint: grants are written literally so a reviewer sees exactly what a step may do",
                "p.yml:6:16: error: `pull-request:write` is not a valid GitHub permission: there is no such permission\n  hint: did you mean `pull-requests:write`?",
                "p.yml:7:17: error: `MY-TOKEN` is not a valid secret name: `-` is not allowed\n  hint: secret names are environment variable names: letters, digits and `_`, not starting with a digit",
            ],
        ),
    ]);
}

#[test]
fn step_references_must_be_earlier_and_visible() {
    check(&[
        (
            "later step",
            "steps:\n  - id: a\n    run: echo ${{ steps.b.outputs.x }}\n  - id: b\n    run: echo\n",
            &[
                "p.yml:3:19: error: `steps.b.outputs.x` refers to step `b`, which runs after step `a`\n  hint: a step can read only steps that ran before it; move `b` earlier",
            ],
        ),
        (
            "unknown step with a typo",
            "steps:\n  - id: plan\n    run: echo\n  - id: show\n    if: steps.plna.outcome == 'success'\n    run: echo\n",
            &["p.yml:5:9: error: unknown step `plna` in `steps.plna.outcome`\n  hint: did you mean `plan`?"],
        ),
        (
            "itself",
            "steps:\n  - id: a\n    run: echo\n    env: { X: '${{ steps.a.outputs.y }}' }\n",
            &[
                "p.yml:4:20: error: step `a` cannot read its own results (`steps.a.outputs.y`)\n  hint: a step sees only steps that ran before it",
            ],
        ),
        (
            "inside another group",
            "steps:\n  - id: g\n    steps:\n      - id: inner\n        run: echo\n  - id: after\n    run: echo ${{ steps.inner.outputs.x }}\n",
            &[
                "p.yml:7:19: error: `steps.inner.outputs.x` refers to step `inner` inside group `g`, which step `after` cannot see into\n  hint: outside the group, read the group's result, e.g. `steps.g.outcome`",
            ],
        ),
        (
            "steps reading a finally step",
            "steps:\n  - id: a\n    run: echo ${{ steps.z.outcome }}\nfinally:\n  - id: z\n    run: echo\n",
            &[
                "p.yml:3:19: error: `steps.z.outcome` refers to `finally` step `z`, which runs after every step\n  hint: only `finally` steps and pipeline outputs can read `finally` steps",
            ],
        ),
        (
            "bad property of a step",
            "steps:\n  - id: a\n    run: echo\n  - id: b\n    run: echo ${{ steps.a.output.x }}\n",
            &[
                "p.yml:5:19: error: `steps.a.output.x`: a step has `outputs`, `outcome` and `conclusion`, not `output`\n  hint: did you mean `outputs`?",
            ],
        ),
        (
            "pipeline env cannot read steps; unknown input; unknown context (secrets are readable)",
            "inputs: { region: {} }\nenv:\n  A: ${{ steps.a.outputs.x }}\n  B: ${{ inputs.regoin }}\n  C: ${{ secrets.TOKEN }}\n  D: ${{ gihub.sha }}\nsteps:\n  - id: a\n    run: echo\n",
            &[
                "p.yml:3:10: error: `steps.a.outputs.x` cannot be used in the pipeline env\n  hint: the pipeline env is evaluated before any step runs",
                "p.yml:4:10: error: input `regoin` is not declared\n  hint: did you mean `region`?",
                "p.yml:6:10: error: unknown context `gihub`\n  hint: did you mean `github`?",
            ],
        ),
    ]);
}

#[test]
fn allowed_references_pass() {
    let ok = concat!(
        "inputs: { n: { default: 3 } }\n",
        "steps:\n",
        "  - id: a\n",
        "    run: echo\n",
        "  - id: g\n",
        "    steps:\n",
        "      - id: b\n",
        "        run: echo ${{ steps.a.outputs.x }}\n",
        "      - id: c\n",
        "        uses: x\n",
        "        with: { v: '${{ steps.b.outputs.y }}', n: '${{ inputs.n }}' }\n",
        "  - id: d\n",
        "    if: steps.g.outcome == 'success' && github.event_name == 'pull_request'\n",
        "    run: echo ${{ env.HOME }}\n",
        "finally:\n",
        "  - id: e\n",
        "    run: echo ${{ steps.d.conclusion }}\n",
        "  - id: f\n",
        "    run: echo ${{ steps.e.outcome }}\n",
        "outputs:\n",
        "  last: ${{ steps.f.outcome }}\n",
    );
    assert_eq!(diagnostics(ok), Vec::<String>::new());
}

#[test]
fn matrix_references() {
    check(&[
        (
            "matrix outside a fan-out",
            "steps:\n  - id: a\n    run: echo ${{ matrix.region }}\n",
            &[
                "p.yml:3:19: error: `matrix.region` is used outside a fan-out\n  hint: only a step with `matrix:`, or a step inside a group with `matrix:`, can read `matrix`",
            ],
        ),
        (
            "key the fan-out does not define",
            "steps:\n  - id: a\n    matrix: { region: [a, b] }\n    run: echo ${{ matrix.regoin }}\n  - id: g\n    matrix: { zone: [a] }\n    steps:\n      - id: b\n        uses: x\n        with: { r: '${{ matrix.size }}' }\n",
            &[
                "p.yml:4:19: error: the fan-out has no matrix key `regoin`\n  hint: did you mean `region`?",
                "p.yml:10:25: error: the fan-out has no matrix key `size`\n  hint: the fan-out defines `zone`",
            ],
        ),
        (
            "matrix shapes",
            "steps:\n  - id: a\n    matrix: { region: us-east, zone: [], include: [] }\n    max-parallel: 0\n    run: echo\n  - id: b\n    max-parallel: 2\n    run: echo\n",
            &[
                "p.yml:3:23: error: matrix `region` must be a list or an expression\n  hint: write `region: [a, b]` or `region: ${{ fromJSON(inputs.regions) }}` (quoted in a flow mapping)",
                "p.yml:3:38: error: matrix `zone` has no values",
                "p.yml:3:42: error: matrix `include` is not supported\n  hint: list the values you want on each axis, or build the list with an expression",
                "p.yml:4:19: error: `max-parallel` must be 1 or more\n  hint: write a whole number such as `max-parallel: 2`",
                "p.yml:7:5: error: `max-parallel` without `matrix`\n  hint: `max-parallel` limits a fan-out; add `matrix:` or remove it",
            ],
        ),
    ]);
}

#[test]
fn expressions_that_do_not_parse() {
    check(&[
        (
            "unclosed",
            "steps:\n  - id: a\n    run: echo ${{ inputs.x\n",
            &["p.yml:3:15: error: invalid expression: `${{` is never closed with `}}`"],
        ),
        (
            "double quotes and unknown function",
            "steps:\n  - id: a\n    if: inputs.x == \"b\"\n    run: echo ${{ toJson(1) }} ${{ frmJSON('1') }}\n",
            &[
                "p.yml:3:21: error: invalid expression: strings are written in single quotes\n  hint: write 'text' (a quote inside is doubled: 'it''s')",
                "p.yml:4:36: error: invalid expression: unknown function `frmJSON()`\n  hint: did you mean `fromJSON`?",
            ],
        ),
        (
            "wrong arity and a trailing token",
            "steps:\n  - id: a\n    if: ${{ contains('a') }}\n    run: echo ${{ 1 2 }}\n",
            &[
                "p.yml:3:13: error: invalid expression: `contains()` takes 2 arguments, found 1",
                "p.yml:4:21: error: invalid expression: unexpected `2` after the expression\n  hint: join conditions with `&&` or `||`",
            ],
        ),
        (
            "in a block scalar, the position of the line inside it",
            "steps:\n  - id: a\n    run: |\n      echo one\n      echo ${{ steps.later.outputs.x }}\n  - id: later\n    run: echo\n",
            &[
                "p.yml:5:16: error: `steps.later.outputs.x` refers to step `later`, which runs after step `a`\n  hint: a step can read only steps that ran before it; move `later` earlier",
            ],
        ),
        (
            "condition mixing text and expressions",
            "steps:\n  - id: a\n    if: ${{ true }} && ${{ false }}\n    run: echo\n",
            &[
                "p.yml:3:9: error: invalid expression: a condition must be one expression\n  hint: write the whole condition inside one `${{ }}`, or leave `${{ }}` out",
            ],
        ),
    ]);
}

#[test]
fn malformed_yaml_reports_the_parser_position() {
    let got = diagnostics("steps:\n  - id: a\n    run: [echo\n  - id: b\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("p.yml:4:"), "{got:?}");
    assert!(got[0].contains("error: invalid YAML: "), "{got:?}");

    let got = diagnostics("steps:\n  - id: a\n   run: x\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("p.yml:3:"), "{got:?}");

    assert_eq!(
        diagnostics("# nothing here\n"),
        ["p.yml:1:1: error: the pipeline file is empty\n  hint: a pipeline needs at least a `steps:` list"]
    );
    assert_eq!(
        diagnostics("- a\n- b\n"),
        ["p.yml:1:1: error: a pipeline file must be a mapping, found a list"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "nme: x\nsteps:\n  - id: a\n    uses: x\n    timout: 5m\n  - id: b\n    run: echo ${{ steps.c.outputs.x }}\n  - id: c\n    run: echo ${{ matrix.r }}\n";
    let got = diagnostics(text);
    let lines: Vec<_> = got
        .iter()
        .map(|d| {
            d.lines()
                .next()
                .unwrap_or_default()
                .split(": error")
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        lines,
        ["p.yml:1:1", "p.yml:5:5", "p.yml:7:19", "p.yml:9:19"],
        "{got:#?}"
    );
}

#[test]
fn broken_files_never_panic() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/terraform-plan.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    for (cut, _) in text.char_indices() {
        let _ = parse("p.yml", &text[..cut]);
    }
    let deep = format!("steps: {}{}", "[".repeat(5000), "]".repeat(5000));
    let got = diagnostics(&deep);
    assert!(
        got.len() == 1 && got[0].starts_with("p.yml:1:") && got[0].contains("invalid YAML"),
        "{got:?}"
    );
    let deep: String = (0..300).map(|i| format!("{}a:\n", "  ".repeat(i))).collect();
    assert_eq!(
        diagnostics(&deep),
        ["p.yml:129:257: error: invalid YAML: nesting is too deep"]
    );
}

#[test]
fn group_keys() {
    check(&[(
        "with on a group, env allowed",
        "steps:\n  - id: g\n    env: { A: b }\n    with: { x: 1 }\n    steps: []\n",
        &[
            "p.yml:4:5: error: `with` does not apply to a group\n  hint: plugin inputs go with `uses:`; a `run` step reads `env:`",
            "p.yml:5:5: error: the group step `g` lists no steps",
        ],
    )]);
}
