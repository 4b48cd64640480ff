#!/usr/bin/env python3
"""Validate every pipeline file in the repository against schema/pipeline.schema.json, and
check that the schema rejects a step with a misspelled key (so editors flag it too)."""
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
print(f"{len(files) - min(failed, len(files))} passed, {failed} failed")
sys.exit(1 if failed else 0)
