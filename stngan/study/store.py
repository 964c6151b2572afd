"""Durable storage of sessions, trials and votes in one SQLite file.

Durability: the database runs in WAL mode with ``synchronous=FULL`` and every vote is its own
``BEGIN IMMEDIATE ... COMMIT``; the HTTP 200 for a vote is sent only after COMMIT returned, i.e. after
the WAL was fsynced. So a vote acknowledged to the browser survives a killed server (SIGKILL: WAL alone
already guarantees that) and also a power cut or kernel crash (that is what FULL adds over NORMAL, at
the price of one fsync per vote, negligible at one vote every ~20 s per participant).

Double votes are impossible by construction: ``votes.trial_id`` is the primary key, so a replayed vote
fails inside the same transaction that would have recorded it.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stngan.study.errors import StudyError

DB_NAME = "votes.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, label TEXT, user_agent TEXT,
    trial_count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), position INTEGER NOT NULL,
    clip TEXT NOT NULL, method_order TEXT NOT NULL, shown_at REAL, UNIQUE (session_id, position));
CREATE TABLE IF NOT EXISTS votes (
    trial_id TEXT PRIMARY KEY REFERENCES trials(id), session_id TEXT NOT NULL REFERENCES sessions(id),
    clip TEXT NOT NULL, method TEXT NOT NULL, slot INTEGER NOT NULL, voted_at REAL NOT NULL,
    response_ms INTEGER);
"""


class UnknownTrial(LookupError):
    """No such trial for this session."""


class AlreadyVoted(RuntimeError):
    """The trial already has its vote."""


@dataclass(frozen=True)
class Trial:
    id: str
    session_id: str
    position: int  # 0-based place in the participant's clip order
    clip: str
    method_order: list[str]  # left to right as shown
    shown_at: float | None
    voted: bool


@dataclass(frozen=True)
class Vote:
    trial_id: str
    session_id: str
    clip: str
    method: str
    slot: int  # 0-based screen position of the chosen video
    voted_at: float
    response_ms: int | None


@dataclass(frozen=True)
class SessionStats:
    sessions: int
    complete_sessions: int
    complete_ids: frozenset[str]


def connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (transactions are explicit) with WAL and synchronous=FULL."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as error:
        raise StudyError(f"{path}: cannot open the vote database ({error})") from None
    if mode.lower() != "wal":
        conn.close()
        raise StudyError(f"{path}: SQLite refused WAL mode (got {mode!r}); put the database on a local disk")
    return conn


class VoteStore:
    """Thread-safe access to one study's database (one connection, one lock: votes are rare)."""

    def __init__(self, path: str | Path, study_id: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        self._conn.executescript(_SCHEMA)  # CREATE ... IF NOT EXISTS; executescript commits on its own
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('study_id', ?)", (study_id,))
            stored = conn.execute("SELECT value FROM meta WHERE key = 'study_id'").fetchone()[0]
        if stored != study_id:
            self.close()
            raise StudyError(f"{self.path}: this vote database belongs to another study ({stored}, "
                             f"study.json says {study_id}); use --db to choose another file")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def create_session(self, plan: list[tuple[str, list[str]]], label: str | None = None,
                       user_agent: str | None = None) -> str:
        """Store a participant and all their trials (clip order and left-to-right method order)."""
        session_id = secrets.token_urlsafe(18)
        with self._transaction() as conn:
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                         (session_id, time.time(), label, user_agent, len(plan)))
            conn.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, NULL)",
                             [(secrets.token_urlsafe(12), session_id, position, clip, json.dumps(order))
                              for position, (clip, order) in enumerate(plan)])
        return session_id

    def has_session(self, session_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is not None

    def trials(self, session_id: str) -> list[Trial]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT t.id, t.session_id, t.position, t.clip, t.method_order, t.shown_at, v.trial_id IS NOT NULL "
                "FROM trials t LEFT JOIN votes v ON v.trial_id = t.id WHERE t.session_id = ? ORDER BY t.position",
                (session_id,)).fetchall()
        return [Trial(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], bool(r[6])) for r in rows]

    def mark_shown(self, trial_id: str) -> None:
        """Remember when a trial was first served (response times are measured from there)."""
        with self._transaction() as conn:
            conn.execute("UPDATE trials SET shown_at = ? WHERE id = ? AND shown_at IS NULL", (time.time(), trial_id))

    def record_vote(self, session_id: str, trial_id: str, slot: int) -> Vote:
        """Record the vote for ``slot`` (0-based screen position) of a trial of this session, once."""
        with self._transaction() as conn:
            row = conn.execute("SELECT clip, method_order, shown_at FROM trials WHERE id = ? AND session_id = ?",
                               (trial_id, session_id)).fetchone()
            if row is None:
                raise UnknownTrial(trial_id)
            order = json.loads(row[1])
            if not 0 <= slot < len(order):
                raise UnknownTrial(f"{trial_id} has no slot {slot}")
            now = time.time()
            vote = Vote(trial_id, session_id, row[0], order[slot], slot, now,
                        None if row[2] is None else round((now - row[2]) * 1000))
            try:
                conn.execute("INSERT INTO votes VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (vote.trial_id, vote.session_id, vote.clip, vote.method, vote.slot, vote.voted_at,
                              vote.response_ms))
            except sqlite3.IntegrityError:
                raise AlreadyVoted(trial_id) from None
        return vote

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def read_votes(path: str | Path) -> tuple[list[Vote], SessionStats]:
    """All votes plus session counts, read from a (possibly crashed) database; recovers its WAL."""
    path = Path(path)
    if not path.is_file():
        return [], SessionStats(0, 0, frozenset())
    conn = connect(path)
    try:
        conn.executescript(_SCHEMA)
        votes = [Vote(*row) for row in conn.execute(
            "SELECT trial_id, session_id, clip, method, slot, voted_at, response_ms FROM votes ORDER BY voted_at")]
        sessions = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        complete = frozenset(r[0] for r in conn.execute(
            "SELECT s.id FROM sessions s JOIN votes v ON v.session_id = s.id "
            "GROUP BY s.id HAVING COUNT(*) = MAX(s.trial_count)"))
    except sqlite3.Error as error:
        raise StudyError(f"{path}: cannot read votes ({error})") from None
    finally:
        conn.close()
    return votes, SessionStats(sessions, len(complete), complete)
