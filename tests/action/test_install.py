"""Tests for scripts/install-tollgate and the action's install step (stdlib unittest).

    python3 -m unittest tests/action/test_install.py

Each test publishes a fake release (a real tar.gz holding an executable `tollgate`, its
SHA256SUMS, sometimes a provenance statement) in a directory served over HTTP on 127.0.0.1,
and runs the installer against it as the action would: RUNNER_OS/RUNNER_ARCH,
TOLLGATE_RELEASE_URL, a temporary RUNNER_TOOL_CACHE and GITHUB_OUTPUT. The installer runs
with a PATH holding only the tools it may use, so a new dependency fails here first.
"""

import functools
import hashlib
import http.server
import io
import json
import os
import platform
import shutil
import socket
import stat
import subprocess
import tarfile
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INSTALLER = os.path.join(ROOT, "scripts", "install-tollgate")
ACTION = os.path.join(ROOT, "action.yml")
BASH = shutil.which("bash")

# What the installer may run: curl, tar (gzip), a sha256 tool, uname and shell basics.
TOOLS = ["bash", "curl", "tar", "gzip", "uname", "grep", "sed", "tr", "head", "mktemp",
         "mkdir", "mv", "rm", "chmod"]

LINUX_X64 = "x86_64-unknown-linux-gnu"
TRIPLES = {
    ("Linux", "X64"): "x86_64-unknown-linux-gnu",
    ("Linux", "ARM64"): "aarch64-unknown-linux-gnu",
    ("macOS", "X64"): "x86_64-apple-darwin",
    ("macOS", "ARM64"): "aarch64-apple-darwin",
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def archive(version="0.1.0", binary=None):
    """A release archive: an executable `tollgate` printing its version, a README, and a
    precompiled builtin."""
    if binary is None:
        binary = ("#!/bin/sh\necho 'tollgate %s'\n" % version).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data, mode in [("tollgate", binary, 0o755), ("README.md", b"# Tollgate\n", 0o644),
                                 ("precompiled/%s-0.cwasm" % ("a" * 64), b"native code", 0o644)]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def statement(subjects, elsewhere=None, compact=False):
    """An in-toto Statement naming SUBJECTS (digests); ELSEWHERE is a digest put in the
    predicate only. COMPACT: one line, as actions/attest writes it."""
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "tollgate-%d.tar.gz" % i, "digest": {"sha256": d}}
                    for i, d in enumerate(subjects)],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"resolvedDependencies": [
            {"uri": "git+https://github.com/tollgate-ci/tollgate", "digest": {"gitCommit": "0" * 40}},
            {"uri": "elsewhere", "digest": {"sha256": elsewhere or sha256(b"x")}}]}},
    }
    return json.dumps(doc, separators=(",", ":")) if compact else json.dumps(doc, indent=2)


class ReleaseServer:
    """A release download site: ROOT/REF/ASSET over HTTP, every GET path recorded."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="tollgate-release-")
        self.requests = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=self.root))
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.root, ignore_errors=True)

    def publish(self, ref, version="0.1.0", triples=(LINUX_X64,), sums="good", provenance=None,
                missing=()):
        """Publish release REF. sums: "good", "wrong" (another file's digest) or None (no
        SHA256SUMS); provenance: None or a kind of statement (see below); missing: triples
        whose archive SHA256SUMS lists but the server does not have. Returns {triple: digest}."""
        directory = os.path.join(self.root, ref)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        digests, lines = {}, []
        for triple in triples:
            name = "tollgate-%s.tar.gz" % triple
            data = archive(version)
            digests[triple] = sha256(data)
            listed = sha256(archive("9.9.9")) if sums == "wrong" else digests[triple]
            lines.append("%s  %s\n" % (listed, name))
            if triple not in missing:
                with open(os.path.join(directory, name), "wb") as f:
                    f.write(data)
            if provenance:
                other = sha256(b"other build")
                text = {"match": statement([other, digests[triple]]),
                        "match-compact": statement([other, digests[triple]], compact=True),
                        "mismatch": statement([other]),
                        "only-in-predicate": statement([other], elsewhere=digests[triple]),
                        "garbage": "<html>not a statement</html>"}[provenance]
                with open(os.path.join(directory, name + ".provenance.json"), "w") as f:
                    f.write(text)
        if sums:
            with open(os.path.join(directory, "SHA256SUMS"), "w") as f:
                f.writelines(lines)
        return digests

    def downloads(self, suffix):
        return [p for p in self.requests if p.endswith(suffix)]


def restricted_path(directory, tools, extra=()):
    """A PATH directory holding symlinks to TOOLS (and EXTRA) only."""
    os.makedirs(directory, exist_ok=True)
    for tool in list(tools) + list(extra):
        found = shutil.which(tool)
        if found is None:
            raise unittest.SkipTest("%s is not installed" % tool)
        os.symlink(found, os.path.join(directory, tool))
    return directory


def write_script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


class InstallerTest(unittest.TestCase):
    def setUp(self):
        self.server = ReleaseServer()
        self.tmp = tempfile.mkdtemp(prefix="tollgate-install-test-")
        self.cache = os.path.join(self.tmp, "toolcache")
        self.output = os.path.join(self.tmp, "github_output")
        open(self.output, "w").close()
        self.bin = restricted_path(os.path.join(self.tmp, "bin"), TOOLS, ["sha256sum"])

    def tearDown(self):
        self.server.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, ref="v0.1.0", os_name="Linux", arch="X64", **extra):
        env = {
            "PATH": self.bin,
            "HOME": os.path.join(self.tmp, "home"),
            "TMPDIR": self.tmp,
            "RUNNER_OS": os_name,
            "RUNNER_ARCH": arch,
            "TOLLGATE_RELEASE_URL": self.server.url,
            "RUNNER_TOOL_CACHE": self.cache,
            "GITHUB_OUTPUT": self.output,
            "GITHUB_ACTION_REF": ref,
        }
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def install(self, **kw):
        return subprocess.run([BASH, INSTALLER], env=self.env(**kw), capture_output=True,
                              text=True, timeout=120)

    def assert_installed(self, proc, ref="v0.1.0", triple=LINUX_X64, version="0.1.0"):
        self.assertEqual(proc.returncode, 0, proc.stderr)
        path = proc.stdout.strip().splitlines()[-1]
        self.assertTrue(path.startswith(os.path.join(self.cache, "tollgate", ref, triple) + "/"),
                        path)
        self.assertEqual(os.path.basename(path), "tollgate")
        with open(self.output) as f:
            self.assertEqual(f.read().splitlines()[-1], "bin=" + path)
        run = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(run.stdout.strip(), "tollgate %s" % version)
        return path

    def assert_refused(self, proc, *words):
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("::error title=tollgate::", proc.stderr)
        for word in words:
            self.assertIn(word, proc.stderr)
        self.assert_nothing_installed()
        with open(self.output) as f:
            self.assertEqual(f.read(), "", "no bin= output on failure")

    def assert_nothing_installed(self):
        found = []
        for directory, dirs, files in os.walk(self.cache):
            found += [os.path.join(directory, n) for n in files + dirs
                      if n == "tollgate" and os.path.isfile(os.path.join(directory, n))]
            found += [os.path.join(directory, d) for d in dirs if d.startswith(".staging")]
        self.assertEqual(found, [], "nothing may be extracted or installed")

    # -- a good release -----------------------------------------------------
    def test_good_release_installs_and_runs(self):
        digests = self.server.publish("v0.1.0")
        proc = self.install()
        path = self.assert_installed(proc)
        self.assertIn(digests[LINUX_X64], path, "the install is keyed by the archive's digest")
        self.assertEqual(proc.stdout.strip().splitlines(), [path], "stdout is the path only")
        self.assertEqual(self.server.downloads("/v0.1.0/SHA256SUMS"), ["/v0.1.0/SHA256SUMS"])
        self.assertEqual(len(self.server.downloads(".tar.gz")), 1)
        self.assertIn("no provenance", proc.stderr)

    def test_full_version_second_run_is_served_from_cache(self):
        self.server.publish("v0.1.0")
        first = self.assert_installed(self.install())
        count = len(self.server.requests)
        open(self.output, "w").close()
        second = self.install()
        self.assertEqual(self.assert_installed(second), first)
        self.assertEqual(self.server.requests[count:], [],
                         "an immutable release is trusted from the cache: no request at all")

    def test_moving_tag_rechecks_sums_but_reuses_the_archive(self):
        self.server.publish("v0", version="0.1.0")
        first = self.assert_installed(self.install(ref="v0"), ref="v0")
        count = len(self.server.requests)
        second = self.install(ref="v0")
        self.assertEqual(self.assert_installed(second, ref="v0"), first)
        self.assertEqual(self.server.requests[count:], ["/v0/SHA256SUMS"],
                         "a moving tag costs one SHA256SUMS request, no archive download")
        # The tag moves: the next run picks up the new build.
        self.server.publish("v0", version="0.2.0")
        third = self.install(ref="v0")
        path = self.assert_installed(third, ref="v0", version="0.2.0")
        self.assertNotEqual(path, first)
        self.assertEqual(len(self.server.downloads(".tar.gz")), 2)

    def test_tampered_cache_is_installed_again(self):
        self.server.publish("v0.1.0")
        path = self.assert_installed(self.install())
        with open(path, "a") as f:
            f.write("echo owned\n")
        proc = self.install()
        self.assertEqual(self.assert_installed(proc), path)
        self.assertIn("changed since it was verified", proc.stderr)
        self.assertEqual(len(self.server.downloads(".tar.gz")), 2)

    def test_tampered_precompiled_plugins_are_installed_again(self):
        self.server.publish("v0.1.0")
        path = self.assert_installed(self.install())
        precompiled = os.path.join(os.path.dirname(path), "precompiled")
        entry = os.path.join(precompiled, "a" * 64 + "-0.cwasm")
        with open(entry, "rb") as f:
            shipped = f.read()
        for tamper in [lambda: open(entry, "ab").write(b"owned"),
                       lambda: open(os.path.join(precompiled, "b" * 64 + "-0.cwasm"), "wb").write(b"x")]:
            tamper()
            proc = self.install()
            self.assertEqual(self.assert_installed(proc), path)
            self.assertIn("precompiled changed since it was verified", proc.stderr)
            self.assertEqual(sorted(os.listdir(precompiled)), [os.path.basename(entry)])
            with open(entry, "rb") as f:
                self.assertEqual(f.read(), shipped)
        self.assertEqual(len(self.server.downloads(".tar.gz")), 3)

    # -- refusals -----------------------------------------------------------
    def test_wrong_checksum_is_refused_before_extracting(self):
        self.server.publish("v0.1.0", sums="wrong")
        actual = sha256(archive("0.1.0"))
        expected = sha256(archive("9.9.9"))
        proc = self.install()
        self.assert_refused(
            proc, "refusing to run: sha256 of tollgate-%s.tar.gz is %s, SHA256SUMS says %s (%s/v0.1.0/SHA256SUMS)"
            % (LINUX_X64, actual, expected, self.server.url))

    def test_missing_asset_names_it_and_the_status(self):
        self.server.publish("v0.1.0", missing=(LINUX_X64,))
        proc = self.install()
        asset = "tollgate-%s.tar.gz" % LINUX_X64
        self.assert_refused(proc, asset, "%s/v0.1.0/%s" % (self.server.url, asset), "HTTP 404",
                            "release v0.1.0", "platform")

    def test_missing_release_names_the_ref(self):
        proc = self.install(ref="v7.7.7")
        self.assert_refused(proc, "SHA256SUMS", "HTTP 404", "v7.7.7", "GITHUB_ACTION_REF")

    def test_missing_sha256sums_is_refused(self):
        self.server.publish("v0.1.0", sums=None)
        proc = self.install()
        self.assert_refused(proc, "no SHA256SUMS", "%s/v0.1.0/SHA256SUMS" % self.server.url,
                            "HTTP 404", "never run")
        self.assertEqual(self.server.downloads(".tar.gz"), [], "the archive is not even fetched")

    def test_sha256sums_without_this_platform_is_refused(self):
        self.server.publish("v0.1.0", triples=("aarch64-apple-darwin",))
        proc = self.install()
        self.assert_refused(proc, "has no tollgate-%s.tar.gz" % LINUX_X64, "SHA256SUMS")

    def test_matching_provenance_is_checked(self):
        for kind in ["match", "match-compact"]:
            with self.subTest(kind):
                shutil.rmtree(self.cache, ignore_errors=True)
                self.server.publish("v0.1.0", provenance=kind)
                proc = self.install()
                self.assert_installed(proc)
                self.assertIn("provenance: tollgate-%s.tar.gz is a subject" % LINUX_X64, proc.stderr)

    def test_provenance_not_naming_the_archive_is_refused(self):
        for kind in ["mismatch", "only-in-predicate"]:
            with self.subTest(kind):
                digests = self.server.publish("v0.1.0", provenance=kind)
                proc = self.install()
                self.assert_refused(proc, "refusing to run", "provenance", digests[LINUX_X64],
                                    ".tar.gz.provenance.json")

    def test_provenance_that_is_not_a_statement_is_refused(self):
        self.server.publish("v0.1.0", provenance="garbage")
        self.assert_refused(self.install(), "not an in-toto Statement")

    def test_unsupported_platform_names_what_is_supported(self):
        for os_name, arch in [("Windows", "X64"), ("Linux", "ARM"), ("Linux", "X86")]:
            with self.subTest(os=os_name, arch=arch):
                proc = self.install(os_name=os_name, arch=arch)
                self.assert_refused(proc, "no tollgate release build for this runner",
                                    "'%s'" % os_name, "'%s'" % arch, "Linux X64", "macOS ARM64",
                                    "TOLLGATE_BIN")
        self.assertEqual(self.server.requests, [], "refused before any download")

    def test_every_supported_runner_gets_its_build(self):
        self.server.publish("v0.1.0", triples=tuple(TRIPLES.values()))
        for (os_name, arch), triple in TRIPLES.items():
            with self.subTest(os=os_name, arch=arch):
                self.assert_installed(self.install(os_name=os_name, arch=arch), triple=triple)
                self.assertEqual(len(self.server.downloads("/tollgate-%s.tar.gz" % triple)), 1)

    def test_uname_is_the_fallback(self):
        machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64",
                   "arm64": "aarch64"}.get(platform.machine().lower())
        system = {"Linux": "unknown-linux-gnu", "Darwin": "apple-darwin"}.get(platform.system())
        if not machine or not system:
            self.skipTest("not a supported machine")
        triple = "%s-%s" % (machine, system)
        self.server.publish("v0.1.0", triples=(triple,))
        proc = self.install(os_name=None, arch=None)
        self.assert_installed(proc, triple=triple)

    def test_unreachable_server_names_the_url(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = "http://127.0.0.1:%d/releases" % port
        proc = self.install(TOLLGATE_RELEASE_URL=url)
        self.assert_refused(proc, "cannot download %s/v0.1.0/SHA256SUMS" % url, "TOLLGATE_RELEASE_URL")

    # -- which release ------------------------------------------------------
    def test_branch_or_sha_ref_is_not_a_release(self):
        for ref in ["main", "0123456789abcdef0123456789abcdef01234567", "v1/../../etc"]:
            with self.subTest(ref=ref):
                self.assert_refused(self.install(ref=ref), "'%s'" % ref, "not a release tag",
                                    "TOLLGATE_VERSION")
        self.assertEqual(self.server.requests, [])

    def test_tollgate_version_wins(self):
        self.server.publish("v0.1.0")
        self.assert_installed(self.install(ref="main", TOLLGATE_VERSION="0.1.0"))

    def test_ref_from_the_action_path(self):
        # Inside a composite action GITHUB_ACTION_REF is empty (actions/runner#2473).
        self.server.publish("v0.1.0")
        path = os.path.join(self.tmp, "runner", "_work", "_actions", "tollgate-ci", "tollgate", "v0.1.0")
        self.assert_installed(self.install(ref="", GITHUB_ACTION_PATH=path))

    def test_no_ref_at_all(self):
        self.assert_refused(self.install(ref=None), "which release?", "TOLLGATE_VERSION")

    # -- tools ----------------------------------------------------------------
    def test_shasum_when_sha256sum_is_missing(self):
        # macOS runners have shasum (perl), not always sha256sum.
        if shutil.which("shasum") is None:
            self.skipTest("shasum is not installed")
        shutil.rmtree(self.bin)
        self.bin = restricted_path(os.path.join(self.tmp, "bin"), TOOLS, ["shasum"])
        self.server.publish("v0.1.0")
        self.assert_installed(self.install())

    def test_gh_attestation_verify_when_asked(self):
        self.server.publish("v0.1.0")
        log = os.path.join(self.tmp, "gh.log")
        ghdir = os.path.join(self.tmp, "gh-ok")
        os.makedirs(ghdir)
        write_script(os.path.join(ghdir, "gh"),
                     '#!/bin/sh\necho "$GH_TOKEN $*" >> %s\nexit 0\n' % log)
        proc = self.install(PATH=ghdir + ":" + self.bin, TOLLGATE_VERIFY_ATTESTATION="1",
                            TOLLGATE_GITHUB_TOKEN="tok")
        self.assert_installed(proc)
        with open(log) as f:
            called = f.read().split()
        self.assertEqual(called[0], "tok")
        self.assertEqual(called[1:3], ["attestation", "verify"])
        self.assertTrue(called[3].endswith("tollgate-%s.tar.gz" % LINUX_X64))
        self.assertEqual(called[4:], ["--repo", "tollgate-ci/tollgate"])

    def test_gh_attestation_failure_is_refused(self):
        self.server.publish("v0.1.0")
        ghdir = os.path.join(self.tmp, "gh-bad")
        os.makedirs(ghdir)
        write_script(os.path.join(ghdir, "gh"), "#!/bin/sh\necho 'no attestations' >&2\nexit 1\n")
        proc = self.install(PATH=ghdir + ":" + self.bin, TOLLGATE_VERIFY_ATTESTATION="1")
        self.assert_refused(proc, "gh attestation verify", "tollgate-ci/tollgate")

    def test_attestation_asked_without_gh_is_refused(self):
        self.server.publish("v0.1.0")
        self.assert_refused(self.install(TOLLGATE_VERIFY_ATTESTATION="1"), "gh) is not on PATH")


def install_step_script():
    """The `run:` script of action.yml's install step (a literal block, no expressions)."""
    with open(ACTION) as f:
        lines = f.read().splitlines()
    start = lines.index("    - id: install")
    run = next(i for i in range(start, len(lines)) if lines[i] == "      run: |")
    body = []
    for line in lines[run + 1:]:
        if line.strip() and not line.startswith("        "):
            break
        body.append(line[8:])
    script = "\n".join(body) + "\n"
    assert "${{" not in script, "the install script reads inputs through env only"
    return script


class ActionInstallStepTest(unittest.TestCase):
    """Which way action.yml's install step gets the binary."""

    def setUp(self):
        self.server = ReleaseServer()
        self.server.publish("v0.1.0")
        self.tmp = tempfile.mkdtemp(prefix="tollgate-action-test-")
        self.output = os.path.join(self.tmp, "github_output")
        open(self.output, "w").close()
        self.workspace = os.path.join(self.tmp, "_work", "repo", "repo")
        os.makedirs(self.workspace)
        self.cargo_log = os.path.join(self.tmp, "cargo.log")
        stubs = os.path.join(self.tmp, "stubs")
        os.makedirs(stubs)
        for tool in ["cargo", "rustup"]:
            write_script(os.path.join(stubs, tool),
                         '#!/bin/sh\necho "%s $*" >> %s\n' % (tool, self.cargo_log))
        self.path = stubs + ":" + restricted_path(os.path.join(self.tmp, "bin"), TOOLS,
                                                  ["sha256sum"])

    def tearDown(self):
        self.server.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def action_checkout(self, path):
        """The action's files at PATH, as the runner lays them out."""
        os.makedirs(os.path.join(path, "scripts"), exist_ok=True)
        shutil.copy(INSTALLER, os.path.join(path, "scripts", "install-tollgate"))
        with open(os.path.join(path, "Cargo.toml"), "w") as f:
            f.write("[workspace]\n")

    def run_step(self, action_path, **extra):
        env = {
            "PATH": self.path,
            "HOME": os.path.join(self.tmp, "home"),
            "TMPDIR": self.tmp,
            "GITHUB_ACTION_PATH": action_path,
            "GITHUB_WORKSPACE": self.workspace,
            "GITHUB_ACTION_REF": "",
            "GITHUB_OUTPUT": self.output,
            "PROFILE": "release",
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_TOOL_CACHE": os.path.join(self.tmp, "toolcache"),
            "TOLLGATE_RELEASE_URL": self.server.url,
            "TOLLGATE_GITHUB_TOKEN": "tok",
        }
        env.update(extra)
        proc = subprocess.run([BASH, "-c", install_step_script()], env=env, capture_output=True,
                              text=True, timeout=120)
        with open(self.output) as f:
            outputs = f.read().splitlines()
        return proc, outputs

    def cargo_calls(self):
        if not os.path.exists(self.cargo_log):
            return []
        with open(self.cargo_log) as f:
            return f.read().splitlines()

    def test_tollgate_bin_wins(self):
        fake = os.path.join(self.tmp, "my-tollgate")
        write_script(fake, "#!/bin/sh\n")
        self.action_checkout(self.workspace)
        proc, outputs = self.run_step(self.workspace, TOLLGATE_BIN=fake)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(outputs, ["bin=" + fake])
        self.assertEqual(self.cargo_calls(), [])
        self.assertEqual(self.server.requests, [])

    def test_uses_dot_builds_from_the_checkout(self):
        # act spells the local action's path as the workspace with a trailing slash.
        self.action_checkout(self.workspace)
        proc, outputs = self.run_step(self.workspace + "/")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.cargo_calls(), ["rustup target add wasm32-wasip2",
                                              "cargo build --locked --profile release -p tollgate"])
        self.assertEqual(outputs, ["bin=%s//target/release/tollgate" % self.workspace])
        self.assertEqual(self.server.requests, [])

    def test_remote_action_downloads_the_release(self):
        # uses: tollgate-ci/tollgate@v0.1.0 — its checkout has a Cargo.toml too, outside the
        # workspace; GITHUB_ACTION_REF is empty in composite steps, the path names the ref.
        action = os.path.join(self.tmp, "_work", "_actions", "tollgate-ci", "tollgate", "v0.1.0")
        self.action_checkout(action)
        proc, outputs = self.run_step(action)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.cargo_calls(), [], "no Rust toolchain is used")
        self.assertEqual(len(outputs), 1)
        self.assertTrue(outputs[0].startswith("bin=" + os.path.join(self.tmp, "toolcache", "tollgate", "v0.1.0")))
        run = subprocess.run([outputs[0][4:]], capture_output=True, text=True, timeout=30)
        self.assertEqual(run.stdout.strip(), "tollgate 0.1.0")

    def test_tollgate_version_downloads_even_from_a_checkout(self):
        self.action_checkout(self.workspace)
        proc, outputs = self.run_step(self.workspace, TOLLGATE_VERSION="v0.1.0")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.cargo_calls(), [])
        self.assertEqual(len(self.server.downloads(".tar.gz")), 1)
        self.assertEqual(len(outputs), 1)

    def test_remote_action_failure_is_an_error_annotation(self):
        action = os.path.join(self.tmp, "_work", "_actions", "tollgate-ci", "tollgate", "v9.9.9")
        self.action_checkout(action)
        proc, outputs = self.run_step(action)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("::error title=tollgate::", proc.stderr)
        self.assertEqual(outputs, [])
        self.assertEqual(self.cargo_calls(), [])


if __name__ == "__main__":
    unittest.main()
