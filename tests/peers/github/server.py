#!/usr/bin/env python3
"""A small, stateful, in-memory stand-in for the GitHub REST API (test peer).

Python 3 standard library only.  It follows GitHub's documented behaviour
(docs.github.com/rest), not any particular client.  See README.md next to this
file for the endpoint list, the control API and what is deliberately missing.

    python3 tests/peers/github/server.py --port 0 --port-file PATH \
        [--token TOKEN] [--owner OWNER --repo REPO]
"""

import argparse
import base64
import hashlib
import itertools
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MAX_BODY = 65536
HTML_BASE = "https://github.com"

DOCS = "https://docs.github.com/rest"
D_COMMENTS = "https://docs.github.com/rest/issues/comments"
D_ISSUES = "https://docs.github.com/rest/issues/issues"
D_PULLS = "https://docs.github.com/rest/pulls/pulls"
D_REFS = "https://docs.github.com/rest/git/refs"
D_COMMITS = "https://docs.github.com/rest/git/commits"
D_TREES = "https://docs.github.com/rest/git/trees"
D_BLOBS = "https://docs.github.com/rest/git/blobs"
D_PRIMARY = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
D_SECONDARY = ("https://docs.github.com/free-pro-team@latest/rest/overview/"
               "rate-limits-for-the-rest-api#about-secondary-rate-limits")

FAULT_KINDS = ("500", "502", "primary-rate-limit", "secondary-rate-limit",
               "reset", "lost-response")
MINIMIZE_CLASSIFIERS = ("SPAM", "ABUSE", "OFF_TOPIC", "OUTDATED", "DUPLICATE",
                        "RESOLVED")
RATE_LIMIT = 5000


def now_iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def legacy_node_id(kind, ident):
    # GitHub's legacy global node id format: base64("<len>:<Type><id>").
    return base64.b64encode(("%02d:%s%s" % (len(kind), kind, ident)).encode()).decode()


class ApiError(Exception):
    def __init__(self, status, message, doc=DOCS, errors=None, headers=None):
        super().__init__(message)
        self.status = status
        self.body = {"message": message, "documentation_url": doc}
        if errors is not None:
            self.body = {"message": message, "errors": errors, "documentation_url": doc}
        self.body["status"] = str(status)
        self.headers = headers or {}


def not_found(doc=DOCS):
    return ApiError(404, "Not Found", doc)


def missing_param(name, doc):
    # GitHub's schema validation for a missing required parameter.
    return ApiError(422, 'Invalid request.\n\n"%s" wasn\'t supplied.' % name, doc)


def invalid_type(name, doc):
    return ApiError(422, 'Invalid request.\n\nInvalid input for "%s".' % name, doc)


class Response:
    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class Ctx:
    """Per-request rendering context (base URLs as the client addressed us)."""

    def __init__(self, api_base, query, full_path):
        self.api = api_base          # e.g. http://127.0.0.1:1234/api/v3
        self.query = query           # dict name -> last value
        self.full_path = full_path   # path as received (with prefix), no query
        self.raw_query = []


# ----------------------------------------------------------------------------
# State
# ----------------------------------------------------------------------------

class Repo:
    def __init__(self, state, owner, name):
        self.owner = owner
        self.name = name
        self.id = next(state.ids)
        self.issues = {}      # number -> issue dict (pulls too)
        self.next_number = 1
        self.comments = {}    # id -> comment dict (incl. deleted)
        self.labels = {}      # lower name -> label dict
        self.refs = {}        # "refs/heads/x" -> sha
        self.commits = {}     # sha -> commit dict
        self.trees = {EMPTY_TREE: {}}  # sha -> {name: (mode, type, sha)}
        self.blobs = {}       # sha -> bytes

    @property
    def full_name(self):
        return "%s/%s" % (self.owner, self.name)

    def object_type(self, sha):
        if sha in self.commits:
            return "commit"
        if sha in self.trees:
            return "tree"
        if sha in self.blobs:
            return "blob"
        return None


class State:
    def __init__(self, owner=None, repo=None, token="test-token"):
        self.lock = threading.Lock()
        self.only = (owner, repo) if owner and repo else None
        self.token = token
        self.reset()

    def reset(self):
        self.ids = itertools.count(1000001)
        self.repos = {}
        self.nodes = {}       # node_id -> comment (for GraphQL)
        self.requests = []
        self.request_seq = itertools.count(1)
        self.users = {}
        self.faults = None
        self.fault_stats = {"decisions": 0, "injected": 0, "by_kind": {}}
        self.fault_streaks = {}
        self.rl_window_start = time.time()
        self.rl_used = 0
        self.rl_exhausted_until = 0.0
        if self.only:
            self.repo(*self.only)

    def repo(self, owner, name, create=True):
        key = (owner.lower(), name.lower())
        if self.only and key != (self.only[0].lower(), self.only[1].lower()):
            return None
        r = self.repos.get(key)
        if r is None and create:
            r = self.repos[key] = Repo(self, owner, name)
        return r

    def user(self, login, kind="User"):
        u = self.users.get(login)
        if u is None:
            uid = next(self.ids)
            u = self.users[login] = {"login": login, "id": uid,
                                     "node_id": legacy_node_id(kind, uid),
                                     "type": kind, "site_admin": False}
        return u


def render_user(ctx, u):
    login = u["login"]
    return {
        "login": login, "id": u["id"], "node_id": u["node_id"],
        "avatar_url": "https://avatars.githubusercontent.com/u/%d?v=4" % u["id"],
        "gravatar_id": "",
        "url": "%s/users/%s" % (ctx.api, login),
        "html_url": "%s/%s" % (HTML_BASE, login),
        "type": u["type"], "site_admin": False,
    }


def render_label(ctx, repo, lab):
    return {"id": lab["id"], "node_id": lab["node_id"],
            "url": "%s/repos/%s/labels/%s" % (ctx.api, repo.full_name,
                                              urllib.parse.quote(lab["name"])),
            "name": lab["name"], "color": lab["color"], "default": False,
            "description": None}


def repo_url(ctx, repo):
    return "%s/repos/%s" % (ctx.api, repo.full_name)


def render_issue(ctx, repo, iss):
    base = repo_url(ctx, repo)
    n = iss["number"]
    kind = "pull" if iss.get("pull") else "issues"
    out = {
        "url": "%s/issues/%d" % (base, n),
        "repository_url": base,
        "labels_url": "%s/issues/%d/labels{/name}" % (base, n),
        "comments_url": "%s/issues/%d/comments" % (base, n),
        "events_url": "%s/issues/%d/events" % (base, n),
        "html_url": "%s/%s/%s/%d" % (HTML_BASE, repo.full_name, kind, n),
        "id": iss["id"], "node_id": iss["node_id"], "number": n,
        "title": iss["title"], "user": render_user(ctx, iss["user"]),
        "labels": [render_label(ctx, repo, repo.labels[l]) for l in iss["labels"]],
        "state": iss["state"], "state_reason": iss["state_reason"],
        "locked": False, "active_lock_reason": None,
        "assignee": None, "assignees": [], "milestone": None,
        "comments": sum(1 for c in repo.comments.values()
                        if c["issue"] == n and not c["deleted"]),
        "created_at": iss["created_at"], "updated_at": iss["updated_at"],
        "closed_at": iss["closed_at"], "author_association": "OWNER",
        "body": iss["body"], "performed_via_github_app": None,
    }
    if iss.get("pull"):
        out["draft"] = iss["pull"]["draft"]
        out["pull_request"] = {
            "url": "%s/pulls/%d" % (base, n),
            "html_url": out["html_url"],
            "diff_url": out["html_url"] + ".diff",
            "patch_url": out["html_url"] + ".patch",
            "merged_at": None,
        }
    return out


def render_min_repo(ctx, repo):
    owner = {"login": repo.owner, "id": 1, "type": "User"}
    return {"id": repo.id, "node_id": legacy_node_id("Repository", repo.id),
            "name": repo.name, "full_name": repo.full_name, "private": False,
            "owner": render_user(ctx, {"login": repo.owner, "id": 1,
                                       "node_id": legacy_node_id("User", 1),
                                       "type": owner["type"]}),
            "html_url": "%s/%s" % (HTML_BASE, repo.full_name),
            "url": repo_url(ctx, repo), "default_branch": "main"}


def render_pull(ctx, repo, iss):
    base = repo_url(ctx, repo)
    n = iss["number"]
    p = iss["pull"]
    html = "%s/%s/pull/%d" % (HTML_BASE, repo.full_name, n)
    mrepo = render_min_repo(ctx, repo)

    def side(ref, sha):
        return {"label": "%s:%s" % (repo.owner, ref), "ref": ref, "sha": sha,
                "user": render_user(ctx, iss["user"]), "repo": mrepo}

    return {
        "url": "%s/pulls/%d" % (base, n), "id": p["id"],
        "node_id": legacy_node_id("PullRequest", p["id"]),
        "html_url": html, "diff_url": html + ".diff", "patch_url": html + ".patch",
        "issue_url": "%s/issues/%d" % (base, n),
        "commits_url": "%s/pulls/%d/commits" % (base, n),
        "review_comments_url": "%s/pulls/%d/comments" % (base, n),
        "comments_url": "%s/issues/%d/comments" % (base, n),
        "statuses_url": "%s/statuses/%s" % (base, p["head_sha"]),
        "number": n, "state": iss["state"], "locked": False,
        "title": iss["title"], "user": render_user(ctx, iss["user"]),
        "body": iss["body"],
        "labels": [render_label(ctx, repo, repo.labels[l]) for l in iss["labels"]],
        "milestone": None, "assignee": None, "assignees": [],
        "requested_reviewers": [], "requested_teams": [],
        "created_at": iss["created_at"], "updated_at": iss["updated_at"],
        "closed_at": iss["closed_at"], "merged_at": None, "merge_commit_sha": None,
        "draft": p["draft"],
        "head": side(p["head_ref"], p["head_sha"]),
        "base": side(p["base_ref"], p["base_sha"]),
        "author_association": "OWNER", "auto_merge": None,
        "merged": False, "mergeable": None, "mergeable_state": "unknown",
        "comments": sum(1 for c in repo.comments.values()
                        if c["issue"] == n and not c["deleted"]),
    }


def render_comment(ctx, repo, c):
    base = repo_url(ctx, repo)
    iss = repo.issues[c["issue"]]
    kind = "pull" if iss.get("pull") else "issues"
    return {
        "id": c["id"], "node_id": c["node_id"],
        "url": "%s/issues/comments/%d" % (base, c["id"]),
        "html_url": "%s/%s/%s/%d#issuecomment-%d" % (HTML_BASE, repo.full_name, kind,
                                                     c["issue"], c["id"]),
        "issue_url": "%s/issues/%d" % (base, c["issue"]),
        "body": c["body"], "user": render_user(ctx, c["user"]),
        "created_at": c["created_at"], "updated_at": c["updated_at"],
        "author_association": "OWNER", "performed_via_github_app": None,
    }


def render_commit(ctx, repo, c):
    base = repo_url(ctx, repo)
    return {
        "sha": c["sha"], "node_id": legacy_node_id("Commit", c["sha"]),
        "url": "%s/git/commits/%s" % (base, c["sha"]),
        "html_url": "%s/%s/commit/%s" % (HTML_BASE, repo.full_name, c["sha"]),
        "author": dict(c["author"]), "committer": dict(c["committer"]),
        "tree": {"sha": c["tree"], "url": "%s/git/trees/%s" % (base, c["tree"])},
        "message": c["message"],
        "parents": [{"sha": p, "url": "%s/git/commits/%s" % (base, p),
                     "html_url": "%s/%s/commit/%s" % (HTML_BASE, repo.full_name, p)}
                    for p in c["parents"]],
        "verification": {"verified": False, "reason": "unsigned", "signature": None,
                         "payload": None, "verified_at": None},
    }


def render_ref(ctx, repo, name, sha):
    base = repo_url(ctx, repo)
    typ = repo.object_type(sha) or "commit"
    return {
        "ref": name,
        "node_id": base64.b64encode(("03:Ref%d:%s" % (repo.id, name)).encode()).decode(),
        "url": "%s/git/%s" % (base, quote_ref(name)),
        "object": {"sha": sha, "type": typ,
                   "url": "%s/git/%ss/%s" % (base, typ, sha)},
    }


def quote_ref(name):
    return urllib.parse.quote(name, safe="/")


# ----------------------------------------------------------------------------
# Git object hashing (real git SHA-1s)
# ----------------------------------------------------------------------------

def git_hash(kind, payload):
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(payload)) + payload).hexdigest()


def tree_payload(entries):
    def key(item):
        name, (mode, typ, _sha) = item
        return name + "/" if typ == "tree" else name
    out = b""
    for name, (mode, typ, sha) in sorted(entries.items(), key=key):
        out += mode.lstrip("0").encode() + b" " + name.encode() + b"\0" + bytes.fromhex(sha)
    return out


def parse_iso(s):
    try:
        return int(time.mktime(time.strptime(s.replace("Z", ""), "%Y-%m-%dT%H:%M:%S"))
                   - time.timezone)
    except (ValueError, AttributeError):
        return None


# ----------------------------------------------------------------------------
# API handlers (all called with the state lock held)
# ----------------------------------------------------------------------------

class Api:
    def __init__(self, state):
        self.s = state

    # -- helpers ----------------------------------------------------------
    def login(self):
        return self.s.user("test-user")

    def get_issue(self, repo, n, doc, pulls_only=False):
        try:
            n = int(n)
        except ValueError:
            raise not_found(doc)
        iss = repo.issues.get(n)
        if iss is None or (pulls_only and not iss.get("pull")):
            raise not_found(doc)
        return iss

    def get_comment(self, repo, cid, doc):
        try:
            cid = int(cid)
        except ValueError:
            raise not_found(doc)
        c = repo.comments.get(cid)
        if c is None or c["deleted"]:
            raise not_found(doc)
        return c

    def label(self, repo, name):
        key = name.lower()
        lab = repo.labels.get(key)
        if lab is None:
            lid = next(self.s.ids)
            color = hashlib.md5(name.encode()).hexdigest()[:6]
            lab = repo.labels[key] = {"id": lid, "node_id": legacy_node_id("Label", lid),
                                      "name": name, "color": color}
        return key

    def label_names(self, value, doc):
        if not isinstance(value, list):
            raise invalid_type("labels", doc)
        names = []
        for v in value:
            if isinstance(v, dict):
                v = v.get("name")
            if not isinstance(v, str) or not v:
                raise invalid_type("labels", doc)
            names.append(v)
        return names

    def check_body(self, body, resource, doc, required=True):
        if body is None:
            if required:
                raise missing_param("body", doc)
            return
        if not isinstance(body, str):
            raise invalid_type("body", doc)
        if len(body) > MAX_BODY:
            raise ApiError(422, "Validation Failed", doc, errors=[{
                "resource": resource, "code": "custom", "field": "body",
                "message": "body is too long (maximum is %d characters)" % MAX_BODY}])

    def check_comment_body(self, text, doc):
        """A comment's body is required and, unlike an issue's, must not be blank."""
        self.check_body(text, "IssueComment", doc)
        if text.strip() == "":
            raise ApiError(422, "Validation Failed", doc, errors=[
                {"resource": "IssueComment", "code": "missing_field", "field": "body"}])

    def paginate(self, ctx, items):
        def intarg(name, default):
            try:
                return int(ctx.query.get(name, default))
            except (TypeError, ValueError):
                return default
        per_page = intarg("per_page", 30)
        if per_page < 1:
            per_page = 30
        per_page = min(per_page, 100)
        page = max(intarg("page", 1), 1)
        total = len(items)
        last = max((total + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []

        def url(p):
            q = [(k, v) for (k, v) in ctx.raw_query if k != "page"] + [("page", str(p))]
            return "<%s%s?%s>" % (ctx.origin, ctx.full_path, urllib.parse.urlencode(q))
        if total > per_page or page > 1:
            if page > 1:
                links.append('%s; rel="prev"' % url(min(page - 1, last)))
            if page < last:
                links.append('%s; rel="next"' % url(page + 1))
                links.append('%s; rel="last"' % url(last))
            if page > 1:
                links.append('%s; rel="first"' % url(1))
        headers = {"Link": ", ".join(links)} if links else {}
        return chunk, headers

    # -- pulls ------------------------------------------------------------
    def get_pull(self, ctx, repo, n):
        iss = self.get_issue(repo, n, D_PULLS + "#get-a-pull-request", pulls_only=True)
        return Response(200, render_pull(ctx, repo, iss))

    def list_pulls(self, ctx, repo):
        state = ctx.query.get("state", "open")
        items = [i for i in sorted(repo.issues.values(), key=lambda i: -i["number"])
                 if i.get("pull") and (state == "all" or i["state"] == state)]
        for k in ("head", "base"):
            if k in ctx.query:
                want = ctx.query[k].split(":", 1)[-1]
                items = [i for i in items if i["pull"][k + "_ref"] == want]
        chunk, h = self.paginate(ctx, items)
        return Response(200, [render_pull(ctx, repo, i) for i in chunk], h)

    def seed_pull(self, repo, body):
        n = body.get("number")
        if n is None:
            n = repo.next_number
        n = int(n)
        if n in repo.issues:
            raise ApiError(422, "number %d is already used" % n)
        repo.next_number = max(repo.next_number, n + 1)
        ts = now_iso()
        iid = next(self.s.ids)
        head_sha = body.get("head_sha") or hashlib.sha1(b"head-%d" % n).hexdigest()
        base_sha = body.get("base_sha") or root_commit_sha()
        for sha in (head_sha, base_sha):
            if sha not in repo.commits:
                # Seeded heads become root commits with the empty tree, so a
                # plugin can build on them through the git data API.
                repo.commits[sha] = self.commit_record(sha, "seeded", EMPTY_TREE, [], None)
        iss = {
            "id": iid, "node_id": legacy_node_id("Issue", iid), "number": n,
            "title": body.get("title", "Test pull request %d" % n),
            "body": body.get("body"), "user": self.s.user(body.get("user", "octocat")),
            "labels": [self.label(repo, l) for l in body.get("labels", [])],
            "state": body.get("state", "open"), "state_reason": None,
            "created_at": ts, "updated_at": ts, "closed_at": None,
            "pull": {"id": next(self.s.ids), "head_sha": head_sha,
                     "head_ref": body.get("head_ref", "feature"),
                     "base_ref": body.get("base_ref", "main"), "base_sha": base_sha,
                     "draft": bool(body.get("draft", False))},
        }
        repo.issues[n] = iss
        return iss

    # -- issues -----------------------------------------------------------
    def list_issues(self, ctx, repo):
        doc = D_ISSUES + "#list-repository-issues"
        state = ctx.query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise ApiError(422, "Validation Failed", doc, errors=[
                {"value": state, "resource": "Issue", "field": "state", "code": "invalid"}])
        items = [i for i in repo.issues.values() if state == "all" or i["state"] == state]
        labels = [l.strip().lower() for l in ctx.query.get("labels", "").split(",") if l.strip()]
        if labels:
            items = [i for i in items if all(l in i["labels"] for l in labels)]
        creator = ctx.query.get("creator")
        if creator:
            items = [i for i in items if i["user"]["login"].lower() == creator.lower()]
        since = parse_iso(ctx.query.get("since", "")) if ctx.query.get("since") else None
        if since is not None:
            items = [i for i in items if parse_iso(i["updated_at"]) >= since]
        sort = ctx.query.get("sort", "created")
        direction = ctx.query.get("direction", "desc")
        keyf = {"updated": lambda i: (i["updated_at"], i["number"]),
                "comments": lambda i: (sum(1 for c in repo.comments.values()
                                           if c["issue"] == i["number"] and not c["deleted"]),
                                       i["number"])}.get(sort, lambda i: i["number"])
        items.sort(key=keyf, reverse=(direction != "asc"))
        chunk, h = self.paginate(ctx, items)
        return Response(200, [render_issue(ctx, repo, i) for i in chunk], h)

    def create_issue(self, ctx, repo, body):
        doc = D_ISSUES + "#create-an-issue"
        title = body.get("title")
        if title is None:
            raise missing_param("title", doc)
        if isinstance(title, int):
            title = str(title)
        if not isinstance(title, str):
            raise invalid_type("title", doc)
        if title.strip() == "":
            raise ApiError(422, "Validation Failed", doc, errors=[
                {"resource": "Issue", "code": "missing_field", "field": "title"}])
        self.check_body(body.get("body"), "Issue", doc, required=False)
        labels = self.label_names(body.get("labels", []), doc)
        n = repo.next_number
        repo.next_number += 1
        ts = now_iso()
        iid = next(self.s.ids)
        iss = {"id": iid, "node_id": legacy_node_id("Issue", iid), "number": n,
               "title": title, "body": body.get("body"), "user": self.login(),
               "labels": [], "state": "open", "state_reason": None,
               "created_at": ts, "updated_at": ts, "closed_at": None}
        for l in labels:
            k = self.label(repo, l)
            if k not in iss["labels"]:
                iss["labels"].append(k)
        repo.issues[n] = iss
        return Response(201, render_issue(ctx, repo, iss),
                        {"Location": "%s/issues/%d" % (repo_url(ctx, repo), n)})

    def update_issue(self, ctx, repo, n, body):
        doc = D_ISSUES + "#update-an-issue"
        iss = self.get_issue(repo, n, doc)
        if "title" in body:
            t = body["title"]
            if t is None or (isinstance(t, str) and not t.strip()):
                raise ApiError(422, "Validation Failed", doc, errors=[
                    {"resource": "Issue", "code": "missing_field", "field": "title"}])
            if not isinstance(t, (str, int)):
                raise invalid_type("title", doc)
        if "body" in body:
            self.check_body(body["body"], "Issue", doc, required=False)
        state = body.get("state")
        if state is not None and state not in ("open", "closed"):
            raise invalid_type("state", doc)
        reason = body.get("state_reason")
        if reason is not None and reason not in ("completed", "not_planned", "reopened"):
            raise invalid_type("state_reason", doc)
        labels = self.label_names(body["labels"], doc) if "labels" in body and \
            body["labels"] is not None else None
        # validation done; apply
        if "title" in body:
            iss["title"] = str(body["title"])
        if "body" in body:
            iss["body"] = body["body"]
        if labels is not None:
            iss["labels"] = []
            for l in labels:
                k = self.label(repo, l)
                if k not in iss["labels"]:
                    iss["labels"].append(k)
        if state == "closed" and iss["state"] != "closed":
            iss["state"] = "closed"
            iss["closed_at"] = now_iso()
            iss["state_reason"] = reason if reason in ("completed", "not_planned") else "completed"
        elif state == "open" and iss["state"] != "open":
            iss["state"] = "open"
            iss["closed_at"] = None
            iss["state_reason"] = "reopened"
        elif reason is not None and state is None and iss["state"] == "closed" \
                and reason != "reopened":
            iss["state_reason"] = reason
        iss["updated_at"] = now_iso()
        return Response(200, render_issue(ctx, repo, iss))

    # -- comments ---------------------------------------------------------
    def list_comments(self, ctx, repo, n):
        doc = D_COMMENTS + "#list-issue-comments"
        if n is not None:
            iss = self.get_issue(repo, n, doc)
            n = iss["number"]
        items = [c for c in sorted(repo.comments.values(), key=lambda c: c["id"])
                 if not c["deleted"] and (n is None or c["issue"] == n)]
        since = parse_iso(ctx.query.get("since", "")) if ctx.query.get("since") else None
        if since is not None:
            items = [c for c in items if parse_iso(c["updated_at"]) >= since]
        if n is None and ctx.query.get("direction") == "desc":
            items.reverse()
        chunk, h = self.paginate(ctx, items)
        return Response(200, [render_comment(ctx, repo, c) for c in chunk], h)

    def create_comment(self, ctx, repo, n, body):
        doc = D_COMMENTS + "#create-an-issue-comment"
        iss = self.get_issue(repo, n, doc)
        text = body.get("body")
        self.check_comment_body(text, doc)
        cid = next(self.s.ids)
        ts = now_iso()
        c = {"id": cid, "node_id": legacy_node_id("IssueComment", cid),
             "issue": iss["number"], "body": text, "user": self.login(),
             "created_at": ts, "updated_at": ts, "deleted": False,
             "minimized": False, "minimized_reason": None}
        repo.comments[cid] = c
        self.s.nodes[c["node_id"]] = (repo, c)
        iss["updated_at"] = ts
        return Response(201, render_comment(ctx, repo, c),
                        {"Location": "%s/issues/comments/%d" % (repo_url(ctx, repo), cid)})

    def get_comment_api(self, ctx, repo, cid):
        c = self.get_comment(repo, cid, D_COMMENTS + "#get-an-issue-comment")
        return Response(200, render_comment(ctx, repo, c))

    def update_comment(self, ctx, repo, cid, body):
        doc = D_COMMENTS + "#update-an-issue-comment"
        c = self.get_comment(repo, cid, doc)
        text = body.get("body")
        self.check_comment_body(text, doc)
        c["body"] = text
        c["updated_at"] = now_iso()
        return Response(200, render_comment(ctx, repo, c))

    def delete_comment(self, ctx, repo, cid):
        c = self.get_comment(repo, cid, D_COMMENTS + "#delete-an-issue-comment")
        c["deleted"] = True
        c["deleted_at"] = now_iso()
        return Response(204)

    # -- git data ---------------------------------------------------------
    def commit_record(self, sha, message, tree, parents, author):
        a = author or {"name": "test-user", "email": "test-user@users.noreply.github.com",
                       "date": now_iso()}
        return {"sha": sha, "message": message, "tree": tree, "parents": list(parents),
                "author": a, "committer": dict(a)}

    def create_commit(self, ctx, repo, body):
        doc = D_COMMITS + "#create-a-commit"
        msg = body.get("message")
        tree = body.get("tree")
        parents = body.get("parents", [])
        if msg is None:
            raise missing_param("message", doc)
        if tree is None:
            raise missing_param("tree", doc)
        if not isinstance(msg, str):
            raise invalid_type("message", doc)
        if not isinstance(tree, str):
            raise invalid_type("tree", doc)
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise invalid_type("parents", doc)
        if tree not in repo.trees:
            raise ApiError(422, "Tree SHA does not exist", doc)
        for p in parents:
            if p not in repo.commits:
                raise ApiError(422, "Parent SHA does not exist or is not a commit object", doc)

        def person(v, name):
            if v is None:
                return None
            if not isinstance(v, dict) or not isinstance(v.get("name"), str) or \
                    not isinstance(v.get("email"), str):
                raise invalid_type(name, doc)
            return {"name": v["name"], "email": v["email"], "date": v.get("date") or now_iso()}
        author = person(body.get("author"), "author") or {
            "name": "test-user", "email": "test-user@users.noreply.github.com",
            "date": now_iso()}
        committer = person(body.get("committer"), "committer") or dict(author)

        def sig(p):
            t = parse_iso(p["date"]) or int(time.time())
            return "%s <%s> %d +0000" % (p["name"], p["email"], t)
        payload = "tree %s\n" % tree
        for p in parents:
            payload += "parent %s\n" % p
        payload += "author %s\ncommitter %s\n\n%s" % (sig(author), sig(committer), msg)
        sha = git_hash("commit", payload.encode())
        rec = self.commit_record(sha, msg, tree, parents, author)
        rec["committer"] = committer
        repo.commits.setdefault(sha, rec)
        return Response(201, render_commit(ctx, repo, repo.commits[sha]),
                        {"Location": "%s/git/commits/%s" % (repo_url(ctx, repo), sha)})

    def get_commit(self, ctx, repo, sha):
        c = repo.commits.get(sha)
        if c is None:
            raise not_found(D_COMMITS + "#get-a-commit-object")
        return Response(200, render_commit(ctx, repo, c))

    def create_blob(self, ctx, repo, body):
        doc = D_BLOBS + "#create-a-blob"
        content = body.get("content")
        if content is None:
            raise missing_param("content", doc)
        enc = body.get("encoding", "utf-8")
        if enc == "base64":
            data = base64.b64decode(content)
        elif enc in ("utf-8", "utf8"):
            data = content.encode()
        else:
            raise invalid_type("encoding", doc)
        sha = git_hash("blob", data)
        repo.blobs[sha] = data
        return Response(201, {"sha": sha, "url": "%s/git/blobs/%s" % (repo_url(ctx, repo), sha)})

    def create_tree(self, ctx, repo, body):
        doc = D_TREES + "#create-a-tree"
        entries = body.get("tree")
        if entries is None:
            raise missing_param("tree", doc)
        if not isinstance(entries, list):
            raise invalid_type("tree", doc)
        base = body.get("base_tree")
        if base is not None and base not in repo.trees:
            raise ApiError(422, "Invalid base_tree", doc)

        def build(tree_sha, changes):
            # changes: list of (path parts, entry or None)
            cur = dict(repo.trees.get(tree_sha, {})) if tree_sha else {}
            sub = {}
            for parts, ent in changes:
                if len(parts) == 1:
                    if ent is None:
                        cur.pop(parts[0], None)
                    else:
                        cur[parts[0]] = ent
                else:
                    sub.setdefault(parts[0], []).append((parts[1:], ent))
            for name, ch in sub.items():
                old = cur.get(name)
                old_sha = old[2] if old and old[1] == "tree" else None
                new = build(old_sha, ch)
                if new is None:
                    cur.pop(name, None)
                else:
                    cur[name] = ("040000", "tree", new)
            if not cur:
                return None  # git stores no empty subtrees; the root becomes EMPTY_TREE
            sha = git_hash("tree", tree_payload(cur))
            repo.trees[sha] = cur
            return sha

        changes = []
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("path"), str):
                raise invalid_type("tree", doc)
            mode = e.get("mode", "100644")
            typ = e.get("type", "blob")
            if "content" in e and e["content"] is not None:
                data = str(e["content"]).encode()
                sha = git_hash("blob", data)
                repo.blobs[sha] = data
            else:
                sha = e.get("sha")
                if sha is None:
                    if "sha" in e:
                        changes.append((e["path"].strip("/").split("/"), None))
                        continue
                    raise ApiError(422, "Must supply either tree.sha or tree.content", doc)
                if repo.object_type(sha) is None:
                    raise ApiError(422, "GitRPC::BadObjectState", doc)
            changes.append((e["path"].strip("/").split("/"), (mode, typ, sha)))
        sha = build(base, changes)
        if sha is None:
            sha = EMPTY_TREE
        return Response(201, self.render_tree(ctx, repo, sha))

    def render_tree(self, ctx, repo, sha):
        base = repo_url(ctx, repo)
        ents = []
        for name, (mode, typ, s) in sorted(repo.trees[sha].items()):
            ent = {"path": name, "mode": mode, "type": typ, "sha": s,
                   "url": "%s/git/%ss/%s" % (base, typ, s)}
            if typ == "blob":
                ent["size"] = len(repo.blobs.get(s, b""))
            ents.append(ent)
        return {"sha": sha, "url": "%s/git/trees/%s" % (base, sha), "tree": ents,
                "truncated": False}

    def get_tree(self, ctx, repo, sha):
        if sha not in repo.trees:
            raise not_found(D_TREES + "#get-a-tree")
        return Response(200, self.render_tree(ctx, repo, sha))

    def is_ancestor(self, repo, ancestor, sha):
        seen = set()
        stack = [sha]
        while stack:
            s = stack.pop()
            if s == ancestor:
                return True
            if s in seen:
                continue
            seen.add(s)
            c = repo.commits.get(s)
            if c:
                stack.extend(c["parents"])
        return False

    def create_ref(self, ctx, repo, body):
        doc = D_REFS + "#create-a-reference"
        ref = body.get("ref")
        sha = body.get("sha")
        if ref is None:
            raise missing_param("ref", doc)
        if sha is None:
            raise missing_param("sha", doc)
        if not isinstance(ref, str):
            raise invalid_type("ref", doc)
        if not isinstance(sha, str):
            raise invalid_type("sha", doc)
        if not ref.startswith("refs/") or ref.count("/") < 2 or not valid_ref_name(ref):
            raise ApiError(422, "Reference name must start with 'refs/' and have at "
                                "least two slashes.", doc)
        if repo.object_type(sha) is None:
            raise ApiError(422, "Object does not exist", doc)
        # check-and-insert under the state lock: atomic.
        if ref in repo.refs:
            raise ApiError(422, "Reference already exists", doc)
        repo.refs[ref] = sha
        return Response(201, render_ref(ctx, repo, ref, sha),
                        {"Location": "%s/git/%s" % (repo_url(ctx, repo), quote_ref(ref))})

    def get_ref(self, ctx, repo, name):
        ref = "refs/" + name
        if ref not in repo.refs:
            raise not_found(D_REFS + "#get-a-reference")
        return Response(200, render_ref(ctx, repo, ref, repo.refs[ref]))

    def get_refs_legacy(self, ctx, repo, name):
        # GET /git/refs/{ref}: exact match -> object, prefix match -> array.
        if not name:
            items = sorted(repo.refs.items())
            chunk, h = self.paginate(ctx, items)
            return Response(200, [render_ref(ctx, repo, r, s) for r, s in chunk], h)
        ref = "refs/" + name
        if ref in repo.refs:
            return Response(200, render_ref(ctx, repo, ref, repo.refs[ref]))
        items = sorted((r, s) for r, s in repo.refs.items() if r.startswith(ref + "/"))
        if not items:
            raise not_found(D_REFS + "#get-a-reference")
        return Response(200, [render_ref(ctx, repo, r, s) for r, s in items])

    def matching_refs(self, ctx, repo, name):
        prefix = "refs/" + name
        items = sorted((r, s) for r, s in repo.refs.items() if r.startswith(prefix))
        chunk, h = self.paginate(ctx, items)
        return Response(200, [render_ref(ctx, repo, r, s) for r, s in chunk], h)

    def update_ref(self, ctx, repo, name, body):
        doc = D_REFS + "#update-a-reference"
        ref = "refs/" + name
        sha = body.get("sha")
        force = body.get("force", False)
        if sha is None:
            raise missing_param("sha", doc)
        if not isinstance(sha, str):
            raise invalid_type("sha", doc)
        if not isinstance(force, bool):
            raise invalid_type("force", doc)
        cur = repo.refs.get(ref)
        if cur is None:
            raise ApiError(422, "Reference does not exist", doc)
        if repo.object_type(sha) is None:
            raise ApiError(422, "Object does not exist", doc)
        if not force and cur != sha and not self.is_ancestor(repo, cur, sha):
            raise ApiError(422, "Update is not a fast forward", doc)
        repo.refs[ref] = sha
        return Response(200, render_ref(ctx, repo, ref, sha))

    def delete_ref(self, ctx, repo, name):
        ref = "refs/" + name
        if ref not in repo.refs:
            raise ApiError(422, "Reference does not exist", D_REFS + "#delete-a-reference")
        del repo.refs[ref]
        return Response(204)

    # -- GraphQL ----------------------------------------------------------
    def graphql(self, body):
        query = body.get("query")
        if not isinstance(query, str):
            return Response(200, {"errors": [{"message": "A query attribute must be specified "
                                                         "and must be a string."}]})
        variables = body.get("variables") or {}
        pat = re.compile(r'(?:(\w+)\s*:\s*)?\b(minimizeComment|unminimizeComment)\s*\(\s*input\s*:'
                         r'\s*(\$\w+|\{[^{}]*\})\s*\)', re.S)
        found = list(pat.finditer(query))
        if not found:
            return Response(200, {"errors": [{
                "message": "tollgate GitHub test peer: only the minimizeComment and "
                           "unminimizeComment mutations are supported"}]})
        data, errors = {}, []
        for m in found:
            alias, field, arg = m.group(1) or m.group(2), m.group(2), m.group(3)
            if arg.startswith("$"):
                inp = variables.get(arg[1:]) or {}
            else:
                inp = {}
                for k, v in re.findall(r'(\w+)\s*:\s*("(?:[^"\\]|\\.)*"|\$\w+|\w+)', arg):
                    if v.startswith("$"):
                        inp[k] = variables.get(v[1:])
                    elif v.startswith('"'):
                        inp[k] = json.loads(v)
                    else:
                        inp[k] = v
            node = inp.get("subjectId")
            hit = self.s.nodes.get(node)
            if hit is None or hit[1]["deleted"]:
                data[alias] = None
                errors.append({"type": "NOT_FOUND", "path": [alias],
                               "message": "Could not resolve to a node with the global id of "
                                          "'%s'" % node})
                continue
            repo, c = hit
            if field == "minimizeComment":
                cls = inp.get("classifier")
                if cls not in MINIMIZE_CLASSIFIERS:
                    data[alias] = None
                    errors.append({"path": [alias], "message": "Argument 'classifier' on "
                                   "InputObject 'MinimizeCommentInput' has an invalid value "
                                   "(%s). Expected type 'ReportedContentClassifiers!'." % cls})
                    continue
                c["minimized"] = True
                c["minimized_reason"] = cls.lower()
            else:
                c["minimized"] = False
                c["minimized_reason"] = None
            out = {"isMinimized": c["minimized"], "minimizedReason": c["minimized_reason"],
                   "id": c["node_id"], "viewerCanMinimize": True}
            key = "minimizedComment" if field == "minimizeComment" else "unminimizedComment"
            data[alias] = {key: out, "clientMutationId": inp.get("clientMutationId")}
        resp = {"data": data}
        if errors:
            resp["errors"] = errors
        return Response(200, resp)


def root_commit_sha():
    return git_hash("commit", ("tree %s\nauthor seed <seed@example.com> 0 +0000\n"
                               "committer seed <seed@example.com> 0 +0000\n\nroot"
                               % EMPTY_TREE).encode())


_BAD_REF = re.compile(r'(\.\.|@\{|[\x00-\x20\x7f~^:?*\[\\]|//|/\.|\.lock(/|$)|^/|/$|\.$)')


def valid_ref_name(ref):
    return not _BAD_REF.search(ref)


# ----------------------------------------------------------------------------
# Routing
# ----------------------------------------------------------------------------

REPO_RE = re.compile(r"^/repos/([^/]+)/([^/]+)(/.*)?$")
ROUTES = [
    ("GET", r"/pulls", "list_pulls"),
    ("GET", r"/pulls/([^/]+)", "get_pull"),
    ("GET", r"/issues", "list_issues"),
    ("POST", r"/issues", "create_issue"),
    ("GET", r"/issues/comments", "list_repo_comments"),
    ("GET", r"/issues/comments/([^/]+)", "get_comment_api"),
    ("PATCH", r"/issues/comments/([^/]+)", "update_comment"),
    ("DELETE", r"/issues/comments/([^/]+)", "delete_comment"),
    ("GET", r"/issues/([^/]+)", "get_issue_api"),
    ("PATCH", r"/issues/([^/]+)", "update_issue"),
    ("GET", r"/issues/([^/]+)/comments", "list_comments"),
    ("POST", r"/issues/([^/]+)/comments", "create_comment"),
    ("POST", r"/git/commits", "create_commit"),
    ("GET", r"/git/commits/([0-9a-fA-F]+)", "get_commit"),
    ("POST", r"/git/blobs", "create_blob"),
    ("POST", r"/git/trees", "create_tree"),
    ("GET", r"/git/trees/([0-9a-fA-F]+)", "get_tree"),
    ("POST", r"/git/refs", "create_ref"),
    ("GET", r"/git/refs", "list_refs"),
    ("GET", r"/git/ref/(.+)", "get_ref"),
    ("GET", r"/git/refs/(.+)", "get_refs_legacy"),
    ("GET", r"/git/matching-refs/(.*)", "matching_refs"),
    ("PATCH", r"/git/refs/(.+)", "update_ref"),
    ("DELETE", r"/git/refs/(.+)", "delete_ref"),
]
ROUTES = [(m, re.compile("^" + p + "/?$"), h) for (m, p, h) in ROUTES]
BODY_HANDLERS = {"create_issue", "update_issue", "create_comment", "update_comment",
                 "create_commit", "create_blob", "create_tree", "create_ref", "update_ref"}


def route_api(api, ctx, method, path, body):
    m = REPO_RE.match(path)
    if not m:
        raise not_found()
    owner, name, rest = m.group(1), m.group(2), m.group(3) or ""
    for meth, rx, handler in ROUTES:
        mm = rx.match(rest)
        if not mm or meth != method:
            continue
        repo = api.s.repo(owner, name)
        if repo is None:
            raise not_found()
        args = [urllib.parse.unquote(a) for a in mm.groups()]
        if handler in BODY_HANDLERS:
            if not isinstance(body, dict):
                raise ApiError(400, "Problems parsing JSON")
            args.append(body)
        if handler == "list_repo_comments":
            return api.list_comments(ctx, repo, None)
        if handler == "get_issue_api":
            iss = api.get_issue(repo, args[0], D_ISSUES + "#get-an-issue")
            return Response(200, render_issue(ctx, repo, iss))
        if handler == "list_refs":
            return api.get_refs_legacy(ctx, repo, "")
        return getattr(api, handler)(ctx, repo, *args)
    raise not_found()


# ----------------------------------------------------------------------------
# HTTP layer
# ----------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def version_string(self):
        return "GitHub.com"

    def log_message(self, fmt, *args):  # quiet; the request log is in /_control/state
        if self.server.verbose:
            sys.stderr.write("%s\n" % (fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, resp, extra=None):
        headers = dict(extra or {})
        headers.update(resp.headers)
        payload = b""
        if resp.body is not None:
            payload = json.dumps(resp.body, indent=None).encode()
        self.send_response(resp.status)
        if resp.status != 204:
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
            headers["Content-Length"] = str(len(payload))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if resp.status != 204 and payload:
            self.wfile.write(payload)
        self.wfile.flush()

    def drop(self):
        """Close the connection without any response (RST)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        self.wfile = _Sink()

    def dispatch(self, method):
        state = self.server.state
        url = urllib.parse.urlsplit(self.path)
        full_path = url.path
        path = full_path
        prefix = ""
        if path.startswith("/api/v3/") or path == "/api/v3":
            prefix = "/api/v3"
            path = path[len(prefix):] or "/"
        raw = self.read_body()
        if path.startswith("/_control/"):
            return self.control(method, path, raw, url)
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        ctx = Ctx("http://%s%s" % (host, prefix), {}, full_path)
        ctx.origin = "http://%s" % host
        ctx.raw_query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        ctx.query = dict(ctx.raw_query)
        is_graphql = path in ("/graphql", "/api/graphql") or full_path == "/api/graphql"
        now = time.time()
        fault = None
        with state.lock:
            rid = "%04X:%04X:%06X:%07X:%08X" % (os.getpid() & 0xFFFF, 0x7A11,
                                               next(state.request_seq), self.server.boot & 0xFFFFFFF,
                                               int(now) & 0xFFFFFFFF)
            entry = {"seq": len(state.requests) + 1, "time": now_iso(now), "method": method,
                     "path": self.path, "status": None, "fault": None, "request_id": rid}
            state.requests.append(entry)
            if now >= state.rl_window_start + 3600:
                state.rl_window_start = now
                state.rl_used = 0
            reset_at = int(state.rl_window_start + 3600)
            auth = self.headers.get("Authorization", "")
            tok = None
            parts = auth.split(None, 1)
            if len(parts) == 2 and parts[0].lower() in ("bearer", "token"):
                tok = parts[1].strip()
            resource = "graphql" if is_graphql else "core"
            if tok != state.token:
                msg = ("This endpoint requires you to be authenticated." if is_graphql and not auth
                       else "Bad credentials")
                resp = Response(401, {"message": msg, "documentation_url": DOCS, "status": "401"})
                hdrs = {"x-github-request-id": rid, "x-ratelimit-limit": "60",
                        "x-ratelimit-remaining": "59", "x-ratelimit-reset": str(reset_at),
                        "x-ratelimit-used": "1", "x-ratelimit-resource": resource}
                entry["status"] = 401
                return self.send(resp, hdrs)

            def rl_headers(remaining=None, reset=None):
                rem = RATE_LIMIT - state.rl_used if remaining is None else remaining
                return {"x-github-request-id": rid, "x-github-media-type": "github.v3; format=json",
                        "x-ratelimit-limit": str(RATE_LIMIT), "x-ratelimit-remaining": str(max(rem, 0)),
                        "x-ratelimit-reset": str(reset if reset is not None else reset_at),
                        "x-ratelimit-used": str(state.rl_used), "x-ratelimit-resource": resource}

            # A primary rate limit stays in force until its reset time, as on GitHub.
            if now < state.rl_exhausted_until:
                entry["status"] = 403
                entry["fault"] = "primary-rate-limit (window)"
                return self.send(self.primary_body(), rl_headers(0, int(state.rl_exhausted_until + 0.999)))
            state.rl_used += 1
            fault = self.decide_fault(state, method, path)
            entry["fault"] = fault
            if fault in ("500", "502"):
                entry["status"] = int(fault)
                return self.send(Response(int(fault), {"message": "Server Error"}), rl_headers())
            if fault == "primary-rate-limit":
                n = state.faults.get("rate_limit_reset_seconds", 1)
                state.rl_exhausted_until = now + n
                entry["status"] = 403
                return self.send(self.primary_body(), rl_headers(0, int(now + n + 0.999)))
            if fault == "secondary-rate-limit":
                entry["status"] = 403
                ra = state.faults.get("retry_after_seconds", 1)
                h = rl_headers()
                h["retry-after"] = str(ra)
                return self.send(Response(403, {
                    "message": "You have exceeded a secondary rate limit. Please wait a few "
                               "minutes before you try again. If you reach out to GitHub "
                               "Support for help, please include the request ID %s." % rid,
                    "documentation_url": D_SECONDARY, "status": "403"}), h)
            if fault == "reset":
                entry["status"] = "connection-reset"
                entry["applied"] = False
                return self.drop()
            try:
                body = None
                if raw.strip():
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise ApiError(400, "Problems parsing JSON")
                elif method in ("POST", "PATCH", "PUT"):
                    body = {}
                api = Api(state)
                if is_graphql:
                    if method != "POST":
                        raise not_found()
                    resp = api.graphql(body if isinstance(body, dict) else {})
                else:
                    resp = route_api(api, ctx, method, path, body)
            except ApiError as e:
                resp = Response(e.status, e.body, e.headers)
            except Exception as e:  # a bug in the peer: report it as GitHub would
                import traceback
                traceback.print_exc()
                resp = Response(500, {"message": "Server Error (peer bug: %r)" % e})
            entry["status"] = resp.status
            if fault == "lost-response":
                entry["applied"] = True
                entry["status_not_sent"] = resp.status
                entry["status"] = "connection-reset"
                return self.drop()
            headers = rl_headers()
        self.send(resp, headers)

    def primary_body(self):
        return Response(403, {"message": "API rate limit exceeded for user ID 1. If you reach "
                                         "out to GitHub Support for help, please include the "
                                         "request ID.",
                              "documentation_url": D_PRIMARY, "status": "403"})

    def decide_fault(self, state, method, path):
        f = state.faults
        if not f:
            return None
        if f.get("methods") and method not in f["methods"]:
            return None
        if f.get("paths") and not any(p in path for p in f["paths"]):
            return None
        if f.get("max") is not None and state.fault_stats["injected"] >= f["max"]:
            return None
        state.fault_stats["decisions"] += 1
        kind = None
        if f["sequence"]:
            kind = f["sequence"].pop(0)
        elif f["kinds"] and f["rng"].random() < f["rate"]:
            kind = f["kinds"][f["rng"].randrange(len(f["kinds"]))]
        # A bound on faults in a row for one method and path: a client with a finite retry
        # budget is then always served eventually, so tests need no luck.
        key = (method, path)
        if kind and state.fault_streaks.get(key, 0) >= f["max_consecutive"]:
            kind = None
        state.fault_streaks[key] = state.fault_streaks.get(key, 0) + 1 if kind else 0
        if kind:
            state.fault_stats["injected"] += 1
            state.fault_stats["by_kind"][kind] = state.fault_stats["by_kind"].get(kind, 0) + 1
        return kind

    # -- control API -----------------------------------------------------
    def control(self, method, path, raw, url):
        state = self.server.state
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return self.send(Response(400, {"message": "Problems parsing JSON"}))
        q = dict(urllib.parse.parse_qsl(url.query))
        with state.lock:
            try:
                resp = self.control_locked(state, method, path.rstrip("/"), body, q)
            except ApiError as e:
                resp = Response(e.status, e.body)
            except (ValueError, TypeError, KeyError) as e:
                resp = Response(400, {"message": "bad control request: %s" % e})
        self.send(resp)

    def control_locked(self, state, method, path, body, q):
        api = Api(state)

        def target_repo():
            owner = body.get("owner") or q.get("owner") or \
                (state.only[0] if state.only else "octo-org")
            name = body.get("repo") or q.get("repo") or \
                (state.only[1] if state.only else "octo-repo")
            r = state.repo(owner, name)
            if r is None:
                raise ApiError(404, "unknown repository %s/%s" % (owner, name))
            return r
        if path == "/_control/health" and method == "GET":
            return Response(200, {"ok": True})
        if path == "/_control/reset" and method == "POST":
            state.reset()
            return Response(200, {"ok": True})
        if path == "/_control/pulls" and method == "POST":
            repo = target_repo()
            iss = api.seed_pull(repo, body)
            ctx = Ctx("http://%s" % (self.headers.get("Host") or "127.0.0.1"), {}, "")
            return Response(201, render_pull(ctx, repo, iss))
        if path == "/_control/refs" and method == "POST":
            repo = target_repo()
            ref, sha = body["ref"], body.get("sha")
            if sha is None:
                repo.refs.pop(ref, None)
            else:
                if sha not in repo.commits and repo.object_type(sha) is None:
                    repo.commits[sha] = api.commit_record(sha, "seeded", EMPTY_TREE,
                                                          body.get("parents", []), None)
                repo.refs[ref] = sha
            return Response(200, {"ref": ref, "sha": sha})
        if path == "/_control/commits" and method == "POST":
            repo = target_repo()
            sha = body.get("sha") or hashlib.sha1(
                ("seed-%d" % next(state.ids)).encode()).hexdigest()
            repo.commits[sha] = api.commit_record(sha, body.get("message", "seeded"),
                                                  body.get("tree", EMPTY_TREE),
                                                  body.get("parents", []), None)
            return Response(201, {"sha": sha})
        if path == "/_control/faults" and method in ("POST", "PUT"):
            kinds = body.get("kinds", [])
            seq = body.get("sequence", [])
            bad = [k for k in list(kinds) + [s for s in seq if s] if k not in FAULT_KINDS]
            if bad:
                raise ApiError(400, "unknown fault kinds %s; known: %s" % (bad, list(FAULT_KINDS)))
            rate = float(body.get("rate", 0))
            if not 0 <= rate <= 1:
                raise ApiError(400, "rate must be in 0..1")
            state.faults = {
                "rate": rate, "kinds": list(kinds), "seed": int(body.get("seed", 0)),
                "methods": [m.upper() for m in body["methods"]] if body.get("methods") else None,
                "paths": body.get("paths"), "max": body.get("max"),
                "max_consecutive": int(body.get("max_consecutive", 1 << 30)),
                "sequence": list(seq),
                "rate_limit_reset_seconds": float(body.get("rate_limit_reset_seconds", 1)),
                "retry_after_seconds": int(body.get("retry_after_seconds", 1)),
            }
            state.faults["rng"] = random.Random(state.faults["seed"])
            state.fault_stats = {"decisions": 0, "injected": 0, "by_kind": {}}
            state.fault_streaks = {}
            state.rl_exhausted_until = 0.0
            return Response(200, self.fault_view(state))
        if path == "/_control/faults" and method == "DELETE":
            state.faults = None
            state.rl_exhausted_until = 0.0
            return Response(200, self.fault_view(state))
        if path == "/_control/faults" and method == "GET":
            return Response(200, self.fault_view(state))
        if path == "/_control/state" and method == "GET":
            return Response(200, self.dump(state))
        raise ApiError(404, "unknown control endpoint %s %s" % (method, path))

    def fault_view(self, state):
        f = state.faults
        cfg = None if f is None else {k: v for k, v in f.items() if k != "rng"}
        return {"faults": cfg, "stats": state.fault_stats}

    def dump(self, state):
        ctx = Ctx("http://%s" % (self.headers.get("Host") or "127.0.0.1"), {}, "")
        repos = {}
        for repo in state.repos.values():
            issues = []
            for n in sorted(repo.issues):
                iss = repo.issues[n]
                d = render_issue(ctx, repo, iss)
                d["label_names"] = [repo.labels[l]["name"] for l in iss["labels"]]
                if iss.get("pull"):
                    d["pull"] = {k: v for k, v in iss["pull"].items() if k != "id"}
                d["comment_list"] = [
                    {"id": c["id"], "node_id": c["node_id"], "body": c["body"],
                     "user": c["user"]["login"], "created_at": c["created_at"],
                     "updated_at": c["updated_at"], "deleted": c["deleted"],
                     "minimized": c["minimized"], "minimized_reason": c["minimized_reason"]}
                    for c in sorted(repo.comments.values(), key=lambda c: c["id"])
                    if c["issue"] == n]
                issues.append(d)
            repos[repo.full_name] = {
                "issues": issues,
                "refs": dict(sorted(repo.refs.items())),
                "commits": {s: {"message": c["message"], "tree": c["tree"],
                                "parents": c["parents"]} for s, c in repo.commits.items()},
                "labels": sorted(l["name"] for l in repo.labels.values()),
            }
        return {"repos": repos, "requests": state.requests,
                "faults": self.fault_view(state),
                "rate_limit": {"limit": RATE_LIMIT, "used": state.rl_used,
                               "exhausted_until": state.rl_exhausted_until or None}}


class _Sink:
    def write(self, _data):
        return 0

    def flush(self):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token", default="test-token")
    ap.add_argument("--owner")
    ap.add_argument("--repo")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    if bool(a.owner) != bool(a.repo):
        ap.error("--owner and --repo go together")
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = State(a.owner, a.repo, a.token)
    srv.verbose = a.verbose
    srv.boot = int(time.time())
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    sys.stderr.write("github test peer listening on http://127.0.0.1:%d\n" % port)
    sys.stderr.flush()
    try:
        srv.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
