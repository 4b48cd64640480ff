"""Small helpers for Tollgate plugins written in Python (componentize-py).

Copy this file next to `app.py` (`tollgate plugin new --lang python` does). It wraps the
bindings componentize-py generates for the `plugin` world in `wit/` so a plugin reads short:

    import tollgate

    class WitWorld(wit_world.WitWorld):
        def describe(self):
            return tollgate.plugin_info(
                name="greet", version="0.1.0", summary="Says hello.",
                inputs=[tollgate.input("name", "string", "Who to greet.", default="world")],
                outputs=[tollgate.output("greeting", "The greeting.")],
            )

        def run(self, inputs, context):
            args = tollgate.values(inputs)
            if not args["name"]:
                raise tollgate.invalid_input("name", "must not be empty")
            tollgate.info(f"greeting {args['name']}")
            tollgate.set_output("greeting", f"Hello, {args['name']}!")
            return tollgate.passed("greeted")

Errors: raise `tollgate.invalid_input(...)`, `tollgate.denied(...)`, `tollgate.peer(...)` or
`tollgate.internal(...)` from `run`; the host maps them to the step's exit code. Any other
exception is a bug in the plugin: the run traps and the step fails.
"""

import json
from typing import Any, Dict, List, Optional

from componentize_py_types import Err
from wit_world.imports import log as _log
from wit_world.imports import outputs as _outputs
from wit_world.imports import summary as _summary

# componentize-py names the interface `types` when no other imported interface is called
# `types`, and `tollgate_plugin_types` when one is (wasi:http's, in the authoring world).
try:
    from wit_world.imports import tollgate_plugin_types as types
except ImportError:  # a world without wasi:http
    from wit_world.imports import types  # type: ignore[no-redef]

__all__ = [
    "types",
    "plugin_info", "input", "output", "net", "secret",
    "values",
    "trace", "debug", "info", "notice", "warn", "error", "group", "progress",
    "set_output", "append_summary",
    "passed", "failed", "inconclusive", "skipped",
    "invalid_input", "denied", "peer", "internal",
]

# --- describe -------------------------------------------------------------------------

_KINDS = {
    "string": types.ValueKind.STRING,
    "number": types.ValueKind.NUMBER,
    "boolean": types.ValueKind.BOOLEAN,
    "duration": types.ValueKind.DURATION,
    "list": types.ValueKind.LIST,
    "object": types.ValueKind.OBJECT,
    "any": types.ValueKind.ANY,
}

_NO_DEFAULT = object()


def input(name: str, kind: str, doc: str, *, default: Any = _NO_DEFAULT,
          required: bool = False, grants_origins: bool = False) -> "types.InputSpec":
    """One input: `kind` is one of string, number, boolean, duration, list, object, any.

    `default` is a Python value (it is sent as JSON text).
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown input kind {kind!r}; use one of {', '.join(_KINDS)}")
    text = None if default is _NO_DEFAULT else json.dumps(default)
    return types.InputSpec(name, _KINDS[kind], required, text, doc, grants_origins)


def output(name: str, doc: str) -> "types.OutputSpec":
    """One output the plugin sets."""
    return types.OutputSpec(name, doc)


def net(pattern: str, reason: str, *, optional: bool = False) -> "types.CapabilityRequest":
    """Request outbound HTTP to origins matching `scheme://host[:port]` (host may be `*.x` or `*`)."""
    return types.CapabilityRequest(types.Capability_Net(pattern), reason, optional)


def secret(name: str, reason: str, *, optional: bool = False) -> "types.CapabilityRequest":
    """Request the secret `name`."""
    return types.CapabilityRequest(types.Capability_Secret(name), reason, optional)


def plugin_info(*, name: str, version: str, summary: str,
                inputs: Optional[List["types.InputSpec"]] = None,
                outputs: Optional[List["types.OutputSpec"]] = None,
                capabilities: Optional[List["types.CapabilityRequest"]] = None) -> "types.PluginInfo":
    """What `describe` returns."""
    return types.PluginInfo(name, version, summary, inputs or [], outputs or [], capabilities or [])


# --- run: inputs ----------------------------------------------------------------------

def values(inputs: List["types.Input"]) -> Dict[str, Any]:
    """The inputs given to `run` as a dict of parsed JSON values (defaults already applied)."""
    return {i.name: json.loads(i.value) for i in inputs}


# --- run: logging, outputs, summary ---------------------------------------------------

def trace(message: str) -> None:
    _log.log(types.Level.TRACE, message)


def debug(message: str) -> None:
    _log.log(types.Level.DEBUG, message)


def info(message: str) -> None:
    _log.log(types.Level.INFO, message)


def notice(message: str) -> None:
    _log.log(types.Level.NOTICE, message)


def warn(message: str) -> None:
    _log.log(types.Level.WARNING, message)


def error(message: str) -> None:
    """An error-level log line (the run goes on; raise an error to stop it)."""
    _log.log(types.Level.ERROR, message)


class group:
    """`with tollgate.group("title"):` puts the lines logged inside in a collapsible group."""

    def __init__(self, title: str):
        self.title = title

    def __enter__(self):
        _log.group_start(self.title)
        return self

    def __exit__(self, *exc):
        _log.group_end()
        return False


def progress(message: str, fraction: Optional[float] = None) -> None:
    _log.progress(message, fraction)


def set_output(name: str, value: Any) -> None:
    """Set an output declared in `describe`. Non-string values are written as JSON."""
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        _outputs.set(name, text)
    except Err as e:
        raise internal(f"cannot set output `{name}`: {e.value}") from None


def append_summary(markdown: str) -> None:
    """Append Markdown to the step summary."""
    try:
        _summary.append(markdown)
    except Err as e:
        raise internal(f"cannot append to the step summary: {e.value}") from None


# --- run: results ---------------------------------------------------------------------

def passed(message: str) -> "types.RunReport":
    return types.RunReport(types.Status.PASSED, message)


def failed(message: str) -> "types.RunReport":
    """The step did its work and the check said no (exit 1)."""
    return types.RunReport(types.Status.FAILED, message)


def inconclusive(message: str) -> "types.RunReport":
    return types.RunReport(types.Status.INCONCLUSIVE, message)


def skipped(message: str) -> "types.RunReport":
    return types.RunReport(types.Status.SKIPPED, message)


def invalid_input(name: str, message: str) -> Err:
    """`raise tollgate.invalid_input("name", "must not be empty")`: the workflow must change (exit 2)."""
    return Err(types.PluginError_InvalidInput(types.InputError(name, message)))


def denied(message: str) -> Err:
    """A capability the run needs was not granted (exit 2)."""
    return Err(types.PluginError_Denied(message))


def peer(message: str) -> Err:
    """A peer (API, endpoint) failed in a way the plugin cannot judge (exit 1)."""
    return Err(types.PluginError_Peer(message))


def internal(message: str) -> Err:
    """A bug or unexpected state in the plugin (exit 1)."""
    return Err(types.PluginError_Internal(message))
