"""The study server's JSON API and media routes, in-process (starlette TestClient)."""
from __future__ import annotations

import json
import random
import sqlite3

import pytest
from starlette.testclient import TestClient
from study_fixtures import METHODS, shared_study

from stngan.study import load_manifest
from stngan.study.server import SESSION_COOKIE, create_app


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    return shared_study(tmp_path_factory)


@pytest.fixture()
def db(tmp_path):
    return tmp_path / "votes.sqlite"


@pytest.fixture()
def client(study_dir, db):
    with TestClient(create_app(study_dir, db, rng=random.Random(7))) as c:
        yield c


def start(client: TestClient, **body) -> dict:
    response = client.post("/api/session", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def vote(client: TestClient, trial: dict, slot: int = 0):
    return client.post("/api/vote", json={"trial": trial["trial"], "choice": trial["videos"][slot]["id"]})


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and "Which video looks most realistic?" in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("study.js", "sync.js", "study.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_session_trials_votes_and_progress(client, study_dir, db):
    assert client.get("/api/trial").status_code == 401
    session = start(client, label="P-01")
    assert session["total"] == 2 and client.cookies[SESSION_COOKIE] == session["session"]
    manifest = load_manifest(study_dir)
    seen = []
    for number in (1, 2):
        trial = client.get("/api/trial").json()
        assert (trial["done"], trial["number"], trial["total"]) == (False, number, 2)
        assert (trial["fps"], trial["frame_count"]) == (25.0, 50)
        assert trial["min_view_seconds"] == 0.5 and len(trial["videos"]) == 4
        assert client.get("/api/trial").json()["trial"] == trial["trial"]  # same trial until voted
        response = vote(client, trial, slot=number)
        assert response.status_code == 200 and response.json() == {"recorded": True, "number": number, "total": 2}
        seen.append(trial)
    assert client.get("/api/trial").json() == {"done": True, "total": 2}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT t.position, t.clip, t.method_order, v.method, v.slot, v.response_ms, s.label "
                            "FROM trials t JOIN votes v ON v.trial_id = t.id JOIN sessions s ON s.id = t.session_id "
                            "ORDER BY t.position").fetchall()
    for (position, clip, order, method, slot, response_ms, label), trial in zip(rows, seen, strict=True):
        order = json.loads(order)
        videos = manifest.clip(clip).videos
        assert [v["id"] for v in trial["videos"]] == [videos[m].id for m in order]  # served == recorded order
        assert (method, slot, label) == (order[position + 1], position + 1, "P-01") and response_ms >= 0


def test_orders_are_random_per_participant_and_recorded(client, db):
    for _ in range(12):
        start(client)
    with sqlite3.connect(db) as conn:
        orders = [tuple(json.loads(o)) for (o,) in conn.execute("SELECT method_order FROM trials")]
        clip_orders = [tuple(c for (c,) in conn.execute(
            "SELECT clip FROM trials WHERE session_id = ? ORDER BY position", (s,)))
            for (s,) in conn.execute("SELECT id FROM sessions")]
    assert len(orders) == 24 and all(sorted(o) == sorted(METHODS) for o in orders)
    assert len(set(orders)) > 5 and {o[0] for o in orders} == set(METHODS)
    assert set(clip_orders) == {("clip0", "clip1"), ("clip1", "clip0")}


def test_replayed_vote_is_rejected(client, db):
    start(client)
    trial = client.get("/api/trial").json()
    assert vote(client, trial, 0).status_code == 200
    for slot in (0, 3):
        replay = vote(client, trial, slot)
        assert replay.status_code == 409 and "already" in replay.json()["error"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0] == 1


def test_votes_are_per_session(client, study_dir, db):
    start(client)
    trial = client.get("/api/trial").json()
    start(client)  # the cookie now names a second participant: the first one's trial is not theirs
    assert vote(client, trial).status_code == 404
    with TestClient(create_app(study_dir, db)) as stranger:
        assert vote(stranger, trial).status_code == 401


@pytest.mark.parametrize("body, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b'{"trial": "x", "choice": "y"}', "text/plain", 415),
    (b'{"trial": 5, "choice": "y"}', "application/json", 422),
    (b'{"choice": "y"}', "application/json", 422),
    (b'{"trial": "nope", "choice": "y"}', "application/json", 404),
    (json.dumps({"trial": "t", "choice": "c", "pad": "x" * 5000}).encode(), "application/json", 413),
])
def test_bad_vote_requests_are_4xx_json(client, body, content_type, status):
    start(client)
    response = client.post("/api/vote", content=body, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json" and response.json()["error"]


def test_choice_must_be_a_video_of_the_trial(client, study_dir):
    start(client)
    trial = client.get("/api/trial").json()
    other_clip = next(c for c in load_manifest(study_dir).clips if c.videos["SI"].id not in
                      {v["id"] for v in trial["videos"]})
    for choice in (other_clip.videos["SI"].id, "SI", "", trial["trial"]):
        response = client.post("/api/vote", json={"trial": trial["trial"], "choice": choice})
        assert response.status_code == 422 and "not one of this trial's videos" in response.json()["error"]


def test_oversized_chunked_body_and_bad_session_inputs(client):
    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    start(client)
    assert client.post("/api/vote", content=chunks(), headers={"content-type": "application/json"}).status_code == 413
    assert client.post("/api/session", json={"label": "<script>"}).status_code == 422
    assert client.post("/api/session", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert client.get("/api/vote").status_code == 405 and client.get("/api/vote").json()["error"]
    assert client.get("/nothing-here").json() == {"error": "Not Found"}
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, "forged")
    assert client.get("/api/trial").status_code == 401


def test_media_range_requests(client, study_dir):
    start(client)
    url = client.get("/api/trial").json()["videos"][0]["url"]
    manifest = load_manifest(study_dir)
    data = next((study_dir / v.file).read_bytes() for c in manifest.clips for v in c.videos.values()
                if url == f"/media/{v.id}.mp4")
    full = client.get(url)
    assert full.status_code == 200 and full.content == data and full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "video/mp4"
    part = client.get(url, headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == data[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{len(data)}"
    tail = client.get(url, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    assert client.get(url, headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


@pytest.mark.parametrize("path", [
    "/media/..%2fstudy.json", "/media/%2e%2e%2fstudy.json", "/media/%2e%2e/study.json", "/media/..%252fstudy.json",
    "/media/..%5cstudy.json", "/media/study.json", "/media/videos%2fclip0%2fSI.mp4", "/videos/clip0/SI.mp4",
    "/static/..%2fserver.py", "/static/%2e%2e/%2e%2e/study/server.py", "/static/%2e%2e%2fserver.py",
    "/static/..%2f..%2f..%2fstudy.json", "/study.json", "/votes.sqlite", "/media/0000000000000000.mp4",
])
def test_no_path_traversal(client, path):
    response = client.get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert "study_id" not in response.text and "import" not in response.text
