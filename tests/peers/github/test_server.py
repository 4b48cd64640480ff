"""Tests for the GitHub REST API test peer (stdlib unittest + urllib).

    python3 -m unittest tests/peers/github/test_server.py
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
TOKEN = "s3cret"
OWNER, REPO = "octo-org", "octo-repo"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def start_server(extra=()):
    tmp = tempfile.mkdtemp(prefix="gh-peer-")
    port_file = os.path.join(tmp, "port")
    proc = subprocess.Popen(
        [sys.executable, SERVER, "--port", "0", "--port-file", port_file,
         "--token", TOKEN, "--owner", OWNER, "--repo", REPO, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited: %s" % proc.stderr.read().decode())
        try:
            with open(port_file) as f:
                text = f.read().strip()
            if text:
                return proc, int(text), tmp
        except FileNotFoundError:
            pass
        # Poll the port file with a short wait; the deadline bounds it.
        try:
            proc.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    raise RuntimeError("server did not write its port file within 15s")


class PeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.port, cls.tmp = start_server()
        cls.base = "http://127.0.0.1:%d" % cls.port

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        try:
            cls.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        cls.proc.stderr.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.ctl("POST", "/_control/reset")

    # -- helpers --------------------------------------------------------
    def call(self, method, path, body=None, token=TOKEN, scheme="Bearer", prefix=""):
        if path.startswith("/repos/") and "{r}" in path:
            path = path.replace("{r}", "%s/%s" % (OWNER, REPO))
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + prefix + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", "%s %s" % (scheme, token))
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
                return r.status, r.headers, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, e.headers, (json.loads(raw) if raw else None)

    def ctl(self, method, path, body=None):
        status, _, out = self.call(method, path, body, token=None)
        self.assertLess(status, 300, out)
        return out

    def state(self):
        return self.ctl("GET", "/_control/state")["repos"]["%s/%s" % (OWNER, REPO)]

    def new_issue(self, title="t", labels=()):
        s, _, out = self.call("POST", "/repos/{r}/issues", {"title": title, "labels": list(labels)})
        self.assertEqual(s, 201, out)
        return out

    def commit(self, parents, message="m"):
        s, _, out = self.call("POST", "/repos/{r}/git/commits",
                              {"message": message, "tree": EMPTY_TREE, "parents": parents})
        self.assertEqual(s, 201, out)
        return out["sha"]

    @staticmethod
    def links(header):
        out = {}
        for part in header.split(", "):
            m = re.fullmatch(r'<([^>]+)>; rel="(\w+)"', part)
            assert m, "malformed Link part %r" % part
            out[m.group(2)] = m.group(1)
        return out

    # -- auth and headers -----------------------------------------------
    def test_401_without_or_with_wrong_token(self):
        for token in (None, "wrong"):
            s, h, out = self.call("GET", "/repos/{r}/issues", token=token)
            self.assertEqual(s, 401)
            self.assertEqual(out["message"], "Bad credentials")
            self.assertIn("documentation_url", out)
            self.assertEqual(h["content-type"], "application/json; charset=utf-8")
        s, h, _ = self.call("GET", "/repos/{r}/issues", scheme="token")
        self.assertEqual(s, 200)
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                     "x-ratelimit-used", "x-ratelimit-resource", "x-github-request-id"):
            self.assertIn(name, h)
        self.assertEqual(h["x-ratelimit-resource"], "core")

    def test_unknown_route_and_repo_404(self):
        for path in ("/nope", "/repos/{r}/nope", "/repos/other/repo/issues"):
            s, _, out = self.call("GET", path)
            self.assertEqual(s, 404, path)
            self.assertEqual(out["message"], "Not Found")
            self.assertTrue(out["documentation_url"].startswith("https://docs.github.com/"))

    # -- comments -------------------------------------------------------
    def test_pagination_link_headers_75_comments(self):
        n = self.new_issue()["number"]
        for i in range(75):
            s, _, _ = self.call("POST", "/repos/{r}/issues/%d/comments" % n, {"body": "c%d" % i})
            self.assertEqual(s, 201)
        path = "/repos/{r}/issues/%d/comments" % n
        s, h, page1 = self.call("GET", path + "?per_page=30", prefix="/api/v3")
        self.assertEqual(s, 200)
        self.assertEqual([c["body"] for c in page1], ["c%d" % i for i in range(30)])
        l1 = self.links(h["Link"])
        self.assertEqual(list(l1), ["next", "last"])
        self.assertTrue(l1["next"].startswith(self.base + "/api/v3/repos/"))
        self.assertTrue(l1["next"].endswith("?per_page=30&page=2"))
        self.assertTrue(l1["last"].endswith("?per_page=30&page=3"))
        s, h, page2 = self.call("GET", path + "?per_page=30&page=2")
        l2 = self.links(h["Link"])
        self.assertEqual(list(l2), ["prev", "next", "last", "first"])
        self.assertTrue(l2["prev"].endswith("page=1") and l2["first"].endswith("page=1"))
        self.assertEqual(page2[0]["body"], "c30")
        s, h, page3 = self.call("GET", path + "?per_page=30&page=3")
        self.assertEqual(len(page3), 15)
        l3 = self.links(h["Link"])
        self.assertEqual(list(l3), ["prev", "first"])
        # Following rel="next" from page 1 visits every comment exactly once.
        seen, url = [], l1["next"]
        seen += page1
        while url:
            req = urllib.request.Request(url, headers={"Authorization": "token " + TOKEN})
            with urllib.request.urlopen(req, timeout=10) as r:
                seen += json.loads(r.read())
                url = self.links(r.headers["Link"]).get("next")
        self.assertEqual(len({c["id"] for c in seen}), 75)
        # Default per_page is 30; a single page has no Link header; max is 100.
        s, h, all_ = self.call("GET", path + "?per_page=500")
        self.assertEqual(len(all_), 75)
        self.assertIsNone(h.get("Link"))
        s, h, dflt = self.call("GET", path)
        self.assertEqual(len(dflt), 30)

    def test_comment_crud_and_validation(self):
        n = self.new_issue()["number"]
        s, h, c = self.call("POST", "/repos/{r}/issues/%d/comments" % n, {"body": "hi"})
        self.assertEqual(s, 201)
        for k in ("id", "node_id", "url", "html_url", "issue_url", "created_at", "updated_at"):
            self.assertIn(k, c)
        self.assertRegex(c["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(c["user"]["type"], "User")
        s, _, out = self.call("POST", "/repos/{r}/issues/%d/comments" % n, {"body": "x" * 65537})
        self.assertEqual(s, 422)
        self.assertEqual(out["message"], "Validation Failed")
        self.assertEqual(out["errors"], [{
            "resource": "IssueComment", "code": "custom", "field": "body",
            "message": "body is too long (maximum is 65536 characters)"}])
        s, _, _ = self.call("POST", "/repos/{r}/issues/%d/comments" % n, {"body": "x" * 65536})
        self.assertEqual(s, 201)
        s, _, out = self.call("POST", "/repos/{r}/issues/%d/comments" % n, {})
        self.assertEqual(s, 422)
        s, _, out = self.call("PATCH", "/repos/{r}/issues/comments/%d" % c["id"], {"body": "edited"})
        self.assertEqual((s, out["body"]), (200, "edited"))
        s, _, out = self.call("DELETE", "/repos/{r}/issues/comments/%d" % c["id"])
        self.assertEqual((s, out), (204, None))
        for method, body in (("PATCH", {"body": "z"}), ("DELETE", None), ("GET", None)):
            s, _, out = self.call(method, "/repos/{r}/issues/comments/%d" % c["id"], body)
            self.assertEqual((s, out["message"]), (404, "Not Found"))
        dumped = self.state()["issues"][0]["comment_list"]
        self.assertTrue(dumped[0]["deleted"])

    # -- issues and pulls -----------------------------------------------
    def test_label_filtering_and_state(self):
        a = self.new_issue("a", ["bug", "tollgate"])
        self.new_issue("b", ["bug"])
        c = self.new_issue("c", ["tollgate", "bug", "extra"])
        s, _, out = self.call("GET", "/repos/{r}/issues?labels=bug,tollgate")
        self.assertEqual(s, 200)
        self.assertEqual([i["number"] for i in out], [c["number"], a["number"]])
        self.assertEqual(out[0]["labels"][0]["name"], "tollgate")
        self.assertIn("color", out[0]["labels"][0])
        s, _, out = self.call("PATCH", "/repos/{r}/issues/%d" % a["number"],
                              {"state": "closed", "state_reason": "not_planned"})
        self.assertEqual((out["state"], out["state_reason"]), ("closed", "not_planned"))
        self.assertIsNotNone(out["closed_at"])
        _, _, out = self.call("GET", "/repos/{r}/issues?labels=bug,tollgate")
        self.assertEqual([i["number"] for i in out], [c["number"]])
        _, _, out = self.call("GET", "/repos/{r}/issues?labels=bug,tollgate&state=closed")
        self.assertEqual([i["number"] for i in out], [a["number"]])
        _, _, out = self.call("GET", "/repos/{r}/issues?labels=bug&state=all")
        self.assertEqual(len(out), 3)
        s, _, out = self.call("POST", "/repos/{r}/issues", {"body": "no title"})
        self.assertEqual(s, 422)
        s, _, out = self.call("GET", "/repos/{r}/issues/%d" % c["number"])
        self.assertEqual((s, out["title"]), (200, "c"))
        self.assertNotIn("pull_request", out)

    def test_pulls_share_number_space_and_are_listed_in_issues(self):
        self.new_issue("first")
        pr = self.ctl("POST", "/_control/pulls", {"title": "PR", "head_sha": "a" * 40,
                                                  "head_ref": "feat", "base_ref": "main",
                                                  "user": "alice"})
        self.assertEqual(pr["number"], 2)
        self.assertEqual(self.new_issue("third")["number"], 3)
        s, _, p = self.call("GET", "/repos/{r}/pulls/2")
        self.assertEqual(s, 200)
        self.assertEqual((p["title"], p["user"]["login"], p["head"]["sha"], p["head"]["ref"],
                          p["base"]["ref"], p["draft"], p["number"]),
                         ("PR", "alice", "a" * 40, "feat", "main", False, 2))
        self.assertTrue(p["html_url"].endswith("/%s/%s/pull/2" % (OWNER, REPO)))
        s, _, _ = self.call("GET", "/repos/{r}/pulls/1")
        self.assertEqual(s, 404)
        _, _, issues = self.call("GET", "/repos/{r}/issues")
        self.assertEqual([i["number"] for i in issues], [3, 2, 1])
        self.assertIn("pull_request", issues[1])
        self.assertNotIn("pull_request", issues[0])
        s, _, c = self.call("POST", "/repos/{r}/issues/2/comments", {"body": "on the PR"})
        self.assertEqual(s, 201)
        self.assertIn("/pull/2#issuecomment-", c["html_url"])

    # -- git data -------------------------------------------------------
    def test_commit_sha_is_a_real_git_sha(self):
        s, _, out = self.call("POST", "/repos/{r}/git/commits", {
            "message": "hello\n", "tree": EMPTY_TREE, "parents": [],
            "author": {"name": "A", "email": "a@example.com", "date": "2020-01-01T00:00:00Z"}})
        self.assertEqual(s, 201)
        self.assertEqual(out["tree"]["sha"], EMPTY_TREE)
        git = shutil.which("git")
        if git:
            env = dict(os.environ, GIT_AUTHOR_NAME="A", GIT_AUTHOR_EMAIL="a@example.com",
                       GIT_AUTHOR_DATE="1577836800 +0000", GIT_COMMITTER_NAME="A",
                       GIT_COMMITTER_EMAIL="a@example.com",
                       GIT_COMMITTER_DATE="1577836800 +0000")
            with tempfile.TemporaryDirectory() as d:
                subprocess.run([git, "init", "-q", d], check=True, env=env)
                sha = subprocess.run([git, "-C", d, "commit-tree", EMPTY_TREE, "-m", "hello"],
                                     env=env, check=True, capture_output=True,
                                     text=True).stdout.strip()
            self.assertEqual(out["sha"], sha)
        s, _, got = self.call("GET", "/repos/{r}/git/commits/" + out["sha"])
        self.assertEqual((s, got["message"]), (200, "hello\n"))
        s, _, err = self.call("POST", "/repos/{r}/git/commits",
                              {"message": "x", "tree": EMPTY_TREE, "parents": ["b" * 40]})
        self.assertEqual(s, 422)

    def test_ref_create_exists_get_delete(self):
        c1 = self.commit([])
        s, _, out = self.call("POST", "/repos/{r}/git/refs", {"ref": "refs/tollgate/lock", "sha": c1})
        self.assertEqual(s, 201)
        self.assertEqual(out["object"], {"sha": c1, "type": "commit", "url": out["object"]["url"]})
        self.assertEqual(out["ref"], "refs/tollgate/lock")
        s, _, out = self.call("POST", "/repos/{r}/git/refs", {"ref": "refs/tollgate/lock", "sha": c1})
        self.assertEqual((s, out["message"]), (422, "Reference already exists"))
        for bad in ("heads/x", "refs/x"):
            s, _, _ = self.call("POST", "/repos/{r}/git/refs", {"ref": bad, "sha": c1})
            self.assertEqual(s, 422, bad)
        s, _, out = self.call("GET", "/repos/{r}/git/ref/tollgate/lock")
        self.assertEqual((s, out["object"]["sha"]), (200, c1))
        s, _, out = self.call("GET", "/repos/{r}/git/ref/tollgate%2Flock")
        self.assertEqual(s, 200)
        s, _, _ = self.call("GET", "/repos/{r}/git/ref/tollgate/nope")
        self.assertEqual(s, 404)
        s, _, _ = self.call("DELETE", "/repos/{r}/git/refs/tollgate/lock")
        self.assertEqual(s, 204)
        s, _, out = self.call("DELETE", "/repos/{r}/git/refs/tollgate/lock")
        self.assertEqual((s, out["message"]), (422, "Reference does not exist"))

    def test_fast_forward_rules_and_force(self):
        c1 = self.commit([])
        c2 = self.commit([c1], "child")
        other = self.commit([], "unrelated")
        self.call("POST", "/repos/{r}/git/refs", {"ref": "refs/heads/main", "sha": c1})
        s, _, out = self.call("PATCH", "/repos/{r}/git/refs/heads/main", {"sha": c2})
        self.assertEqual((s, out["object"]["sha"]), (200, c2))
        s, _, out = self.call("PATCH", "/repos/{r}/git/refs/heads/main", {"sha": other})
        self.assertEqual((s, out["message"]), (422, "Update is not a fast forward"))
        s, _, out = self.call("PATCH", "/repos/{r}/git/refs/heads/main", {"sha": c1, "force": False})
        self.assertEqual(s, 422)  # moving backwards is not a fast-forward either
        s, _, out = self.call("PATCH", "/repos/{r}/git/refs/heads/main", {"sha": other, "force": True})
        self.assertEqual((s, out["object"]["sha"]), (200, other))
        s, _, out = self.call("PATCH", "/repos/{r}/git/refs/heads/absent", {"sha": c1})
        self.assertEqual((s, out["message"]), (422, "Reference does not exist"))

    def test_ref_cas_under_16_threads(self):
        base = self.commit([])
        shas = [self.commit([base], "c%d" % i) for i in range(16)]
        barrier = threading.Barrier(16)
        results = [None] * 16

        def create(i):
            barrier.wait()
            results[i] = self.call("POST", "/repos/{r}/git/refs",
                                   {"ref": "refs/tollgate/lock", "sha": shas[i]})

        threads = [threading.Thread(target=create, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = sorted(r[0] for r in results)
        self.assertEqual(statuses, [201] + [422] * 15)
        winner = next(i for i, r in enumerate(results) if r[0] == 201)
        self.assertTrue(all(r[2]["message"] == "Reference already exists"
                            for r in results if r[0] == 422))
        self.assertEqual(self.state()["refs"]["refs/tollgate/lock"], shas[winner])

        # Compare-and-swap by fast-forward: 16 children of the winner race.
        kids = [self.commit([shas[winner]], "k%d" % i) for i in range(16)]
        barrier.reset()

        def update(i):
            barrier.wait()
            results[i] = self.call("PATCH", "/repos/{r}/git/refs/tollgate/lock", {"sha": kids[i]})

        threads = [threading.Thread(target=update, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(r[0] for r in results), [200] + [422] * 15)
        winner = next(i for i, r in enumerate(results) if r[0] == 200)
        self.assertEqual(self.state()["refs"]["refs/tollgate/lock"], kids[winner])

    # -- faults ---------------------------------------------------------
    def raw_post(self, path, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", path, json.dumps(body),
                         {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
            return conn.getresponse().status
        finally:
            conn.close()

    def test_lost_response_applies_the_effect(self):
        n = self.new_issue()["number"]
        self.ctl("POST", "/_control/faults", {"sequence": ["lost-response"]})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.raw_post("/repos/%s/%s/issues/%d/comments" % (OWNER, REPO, n), {"body": "once"})
        bodies = [c["body"] for c in self.state()["issues"][0]["comment_list"]]
        self.assertEqual(bodies, ["once"])
        reqs = self.ctl("GET", "/_control/state")["requests"]
        self.assertEqual((reqs[-1]["fault"], reqs[-1]["applied"]), ("lost-response", True))

    def test_reset_does_not_apply(self):
        n = self.new_issue()["number"]
        self.ctl("POST", "/_control/faults", {"sequence": ["reset"]})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.raw_post("/repos/%s/%s/issues/%d/comments" % (OWNER, REPO, n), {"body": "x"})
        self.assertEqual(self.state()["issues"][0]["comment_list"], [])
        s, _, _ = self.call("POST", "/repos/{r}/issues/%d/comments" % n, {"body": "x"})
        self.assertEqual(s, 201)  # the sequence is used up: no more faults

    def test_rate_limit_faults(self):
        self.ctl("POST", "/_control/faults", {"sequence": ["primary-rate-limit"],
                                              "rate_limit_reset_seconds": 1})
        s, h, out = self.call("GET", "/repos/{r}/issues")
        self.assertEqual(s, 403)
        self.assertEqual(h["x-ratelimit-remaining"], "0")
        self.assertGreaterEqual(int(h["x-ratelimit-reset"]), int(time.time()))
        self.assertTrue(out["message"].startswith("API rate limit exceeded"))
        # Still limited until the reset time, as on GitHub.
        s, _, _ = self.call("GET", "/repos/{r}/issues")
        self.assertEqual(s, 403)
        self.ctl("POST", "/_control/faults", {"sequence": ["secondary-rate-limit"]})
        s, h, out = self.call("GET", "/repos/{r}/issues")
        self.assertEqual((s, h["retry-after"]), (403, "1"))
        self.assertTrue(out["message"].startswith("You have exceeded a secondary rate limit"))
        s, _, _ = self.call("GET", "/repos/{r}/issues")
        self.assertEqual(s, 200)

    def test_faults_are_deterministic_for_a_seed(self):
        def run(seed):
            self.ctl("POST", "/_control/faults", {"rate": 0.5, "seed": seed,
                                                  "kinds": ["500", "502", "secondary-rate-limit"],
                                                  "methods": ["GET"]})
            out = [self.call("GET", "/repos/{r}/issues")[0] for _ in range(40)]
            # methods filter: a POST is never faulted
            s, _, _ = self.call("POST", "/repos/{r}/issues", {"title": "x"})
            self.assertEqual(s, 201)
            self.ctl("DELETE", "/_control/faults")
            return out

        a, b, c = run(7), run(7), run(8)
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertTrue({500, 502, 403, 200} <= set(a), a)
        log = self.ctl("GET", "/_control/state")["requests"]
        self.assertTrue(any(r["fault"] == "502" and r["status"] == 502 for r in log))

    def test_max_consecutive_bounds_faults_in_a_row_per_call(self):
        self.ctl("POST", "/_control/faults", {"rate": 1.0, "seed": 1, "kinds": ["500"],
                                              "max_consecutive": 2})
        out = [self.call("GET", "/repos/{r}/issues")[0] for _ in range(9)]
        self.ctl("DELETE", "/_control/faults")
        self.assertEqual(out, [500, 500, 200] * 3)

    # -- GraphQL --------------------------------------------------------
    def test_graphql_minimize_comment(self):
        n = self.new_issue()["number"]
        _, _, c = self.call("POST", "/repos/{r}/issues/%d/comments" % n, {"body": "old"})
        q = ("mutation($id: ID!) { minimizeComment(input: {subjectId: $id, classifier: OUTDATED})"
             " { minimizedComment { isMinimized minimizedReason } } }")
        s, _, out = self.call("POST", "/graphql", {"query": q, "variables": {"id": c["node_id"]}})
        self.assertEqual(s, 200)
        self.assertEqual(out["data"]["minimizeComment"]["minimizedComment"]["isMinimized"], True)
        dumped = self.state()["issues"][0]["comment_list"][0]
        self.assertEqual((dumped["minimized"], dumped["minimized_reason"]), (True, "outdated"))
        s, _, out = self.call("POST", "/graphql", {"query": q, "variables": {"id": "nope"}})
        self.assertEqual(out["errors"][0]["type"], "NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
