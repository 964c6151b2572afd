"""The study web app: one page, a JSON API for sessions, trials and votes, and the videos (Range-capable).

API (all JSON, errors are ``{"error": "..."}`` with a 4xx status):

* ``POST /api/session`` ``{"label": optional str}`` -> new participant, sets the session cookie;
  ``{"session", "total"}``. Clip order and left-to-right orders are drawn and stored now.
* ``GET /api/trial`` -> the first trial without a vote: ``{"done": false, "trial", "number", "total", "fps",
  "frame_count", "duration", "min_view_seconds", "question", "videos": [{"id", "url"}, ...]}`` (left to
  right), or ``{"done": true, "total"}``.
* ``POST /api/vote`` ``{"trial": id, "choice": video id}`` -> ``{"recorded": true, "number", "total"}``
  once the vote is committed to disk; 409 for a second vote on the same trial.
* ``GET /media/{id}.mp4``: a video listed in study.json (ids are opaque: no method names, no paths).
"""
from __future__ import annotations

import random
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from stngan.study.design import plan_session
from stngan.study.manifest import Manifest, load_manifest
from stngan.study.store import DB_NAME, AlreadyVoted, Trial, UnknownTrial, VoteStore
from stngan.study.web import ApiError, SecurityHeaders, http_error, json_response, read_json, server_error

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "stngan_study_session"
_MEDIA_NAME = re.compile(r"^([0-9a-f]{16,64})\.mp4$")
_LABEL = re.compile(r"^[\w.@:+-]{1,64}$")


class StudyServer:
    """The state of one running study: manifest, vote store, random source."""

    def __init__(self, study_dir: str | Path, db_path: str | Path | None = None,
                 rng: random.Random | None = None) -> None:
        self.root = Path(study_dir).resolve()
        self.manifest: Manifest = load_manifest(self.root)
        self.videos = self.manifest.videos_by_id(self.root)
        self.store = VoteStore(db_path or self.root / DB_NAME, self.manifest.study_id)
        self.rng = rng or random.SystemRandom()

    # ---- helpers -----------------------------------------------------------------------------------------

    def _session_id(self, request: Request) -> str:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        if not session_id or len(session_id) > 64 or not self.store.has_session(session_id):
            raise ApiError(401, "no valid session; start one with POST /api/session")
        return session_id

    def _video_ids(self, trial: Trial) -> list[str]:
        clip = self.manifest.clip(trial.clip)
        return [clip.videos[method].id for method in trial.method_order]

    def _trial_json(self, trial: Trial, total: int) -> dict[str, Any]:
        clip = self.manifest.clip(trial.clip)
        return {"done": False, "trial": trial.id, "number": trial.position + 1, "total": total,
                "fps": clip.fps_value, "frame_count": clip.frame_count, "duration": clip.duration,
                "width": clip.width, "height": clip.height, "question": self.manifest.title,
                "min_view_seconds": (clip.duration if self.manifest.min_view_seconds is None
                                     else min(self.manifest.min_view_seconds, clip.duration)),
                "videos": [{"id": vid, "url": f"/media/{vid}.mp4"} for vid in self._video_ids(trial)]}

    # ---- endpoints ---------------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})

    async def new_session(self, request: Request) -> Response:
        body = await read_json(request, allow_empty=True)
        label = body.get("label")
        if label is not None and (not isinstance(label, str) or not _LABEL.match(label)):
            raise ApiError(422, "label must be 1-64 letters, digits or . _ @ : + -")
        plan = plan_session(self.manifest, self.rng)
        session_id = await run_in_threadpool(self.store.create_session, plan, label,
                                             request.headers.get("user-agent", "")[:256])
        response = json_response({"session": session_id, "total": len(plan)})
        response.set_cookie(SESSION_COOKIE, session_id, max_age=30 * 86400, httponly=True, samesite="strict")
        return response

    async def current_trial(self, request: Request) -> Response:
        session_id = self._session_id(request)
        trials = await run_in_threadpool(self.store.trials, session_id)
        pending = next((t for t in trials if not t.voted), None)
        if pending is None:
            return json_response({"done": True, "total": len(trials)})
        if pending.shown_at is None:
            await run_in_threadpool(self.store.mark_shown, pending.id)
        return json_response(self._trial_json(pending, len(trials)))

    async def vote(self, request: Request) -> Response:
        body = await read_json(request)
        session_id = self._session_id(request)
        trial_id, choice = body.get("trial"), body.get("choice")
        if not isinstance(trial_id, str) or not isinstance(choice, str):
            raise ApiError(422, 'expected {"trial": "<trial id>", "choice": "<video id>"}')
        trials = {t.id: t for t in await run_in_threadpool(self.store.trials, session_id)}
        if trial_id not in trials:
            raise ApiError(404, "unknown trial for this session")
        shown = self._video_ids(trials[trial_id])
        if choice not in shown:
            raise ApiError(422, "choice is not one of this trial's videos")
        try:
            await run_in_threadpool(self.store.record_vote, session_id, trial_id, shown.index(choice))
        except AlreadyVoted:
            raise ApiError(409, "this trial already has your vote") from None
        except UnknownTrial:
            raise ApiError(404, "unknown trial for this session") from None
        return json_response({"recorded": True, "number": trials[trial_id].position + 1, "total": len(trials)})

    async def media(self, request: Request) -> Response:
        match = _MEDIA_NAME.match(request.path_params["name"])
        path = self.videos.get(match.group(1)) if match else None
        if path is None or not path.is_file():
            raise HTTPException(404, "no such video")
        return FileResponse(path, media_type="video/mp4", headers={"cache-control": "private, max-age=3600"})

    def routes(self) -> list[Route | Mount]:
        return [Route("/", self.index),
                Route("/favicon.ico", lambda request: Response(status_code=204)),
                Route("/api/session", self.new_session, methods=["POST"]),
                Route("/api/trial", self.current_trial),
                Route("/api/vote", self.vote, methods=["POST"]),
                Route("/media/{name}", self.media),
                Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")]


def create_app(study_dir: str | Path, db_path: str | Path | None = None,
               rng: random.Random | None = None) -> Starlette:
    """The ASGI app of one study; its :class:`StudyServer` is ``app.state.study``."""
    study = StudyServer(study_dir, db_path, rng)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        study.store.close()

    app = Starlette(routes=study.routes(), middleware=[Middleware(SecurityHeaders)], lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.study = study
    return app


def serve(study_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, db_path: str | Path | None = None,
          log_level: str = "info") -> None:
    """Run the study with uvicorn until interrupted (one process: SQLite is the single writer)."""
    import uvicorn  # here, not at the top: the server is the only user and it keeps `stngan --help` fast

    uvicorn.run(create_app(study_dir, db_path), host=host, port=port, log_level=log_level, access_log=False)
