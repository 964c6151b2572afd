"""The study server as a real process: raw-path traversal attempts and durability of votes after SIGKILL."""
from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3

import pytest
from study_fixtures import free_port, shared_study, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server process for the whole module, votes in a fresh database."""
    db = tmp_path_factory.mktemp("live") / "votes.sqlite"
    port = free_port()
    process = start_server(shared_study(tmp_path_factory), db, port)
    yield port, process, db
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    process.stdout.close()


def request(port: int, method: str, path: str, body: dict | None = None, cookie: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if cookie:
        headers["Cookie"] = cookie
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response, payload


@pytest.mark.parametrize("path", ["/media/../study.json", "/static/../study.json", "/static/../../study.json",
                                  "/static/../server.py", "/media/../../votes.sqlite", "/static/..%2f..%2fstudy.json",
                                  "/static/%2e%2e/%2e%2e/study.json", "/media/%2e%2e%2fstudy.json"])
def test_raw_traversal_paths_are_404(server, path):
    port, _, _ = server
    response, payload = request(port, "GET", path)
    assert response.status == 404 and b"study_id" not in payload and b"import" not in payload


def test_acknowledged_votes_survive_sigkill(tmp_path_factory, tmp_path):
    port, db = free_port(), tmp_path / "votes.sqlite"
    process = start_server(shared_study(tmp_path_factory), db, port)
    try:
        _vote_twice_then_kill(port, process, db)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        process.stdout.close()


def _vote_twice_then_kill(port, process, db):
    response, payload = request(port, "POST", "/api/session", {})
    cookie = response.getheader("set-cookie").split(";")[0]
    for _ in range(2):
        trial = json.loads(request(port, "GET", "/api/trial", cookie=cookie)[1])
        response, _ = request(port, "POST", "/api/vote", {"trial": trial["trial"], "choice": trial["videos"][2]["id"]},
                              cookie=cookie)
        assert response.status == 200
    os.kill(process.pid, signal.SIGKILL)  # right after the second 200: no shutdown, no checkpoint
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert db.with_name(db.name + "-wal").stat().st_size > 0  # the votes were still only in the WAL
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT trial_id), MIN(slot) FROM votes").fetchone() == (2, 2, 2)
