#!/usr/bin/env python3
"""Validate every pipeline file in the repository against schema/pipeline.schema.json, check
that the schema rejects a step with a misspelled key (so editors flag it too), and check that
it accepts exactly the spellings tollgate-vocab accepts, on the corpus both are tested with
(crates/vocab/tests/spellings.json), placed where a pipeline file writes them."""
import json
import pathlib
import sys

import jsonschema
import yaml

root = pathlib.Path(__file__).resolve().parent.parent
schema = json.loads((root / "schema/pipeline.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
files = sorted(root.glob("examples/**/*.pipeline.yml")) + [root / "tests/act/pipeline.yml"]
files += sorted((root / "crates/pipeline/tests/data").glob("*.yml"))
failed = 0
for path in files:
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    for error in errors:
        print(f"{path.relative_to(root)}: {error.json_path}: {error.message}")
    failed += bool(errors)
bad = {"steps": [{"id": "a", "run": "true", "contine-on-error": True}]}
if validator.is_valid(bad):
    print("schema accepts a misspelled step key")
    failed += 1


def documents(kind, text):
    """Pipeline files that hold `text` where a pipeline writes a value of `kind`."""
    uses = lambda allow: {"steps": [{"id": "a", "uses": "x", "allow": allow}]}
    run = lambda **step: {"steps": [{"id": "a", "run": "true", **step}]}
    return {
        "origin": [uses({"net": [text]})],
        "duration": [uses({"timeout": text}), run(timeout=text)],
        "size": [uses({"memory": text})],
        "github-permission": [uses({"github": [text]})],
        "secret-name": [uses({"secrets": [text]}), run(env={text: "x"})],
    }[kind]


corpus = json.loads((root / "crates/vocab/tests/spellings.json").read_text())
spellings = 0
for kind, sides in corpus.items():
    if kind.startswith("$"):
        continue
    for side, accepted in (("accept", True), ("refuse", False)):
        for text, _ in sides[side]:
            spellings += 1
            for doc in documents(kind, text):
                if validator.is_valid(doc) != accepted:
                    verdict = "refuses" if accepted else "accepts"
                    print(f"spellings.json: the schema {verdict} {kind} {text!r}, which tollgate-vocab {side}s")
                    failed += 1
print(f"{spellings} spellings checked")
print(f"{len(files) - min(failed, len(files))} passed, {failed} failed")
sys.exit(1 if failed else 0)
