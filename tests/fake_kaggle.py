"""A fake Kaggle API on 127.0.0.1 that the real `kaggle` client talks to unmodified, plus fixture competitions.

How the real client reaches it: with KAGGLE_API_ENVIRONMENT=LOCALHOST the client calls
http://localhost/api/v1/competitions.CompetitionApiService/<Method>; `requests` honours HTTP_PROXY, so pointing
HTTP_PROXY at this server sends every request (absolute URLs) to 127.0.0.1:<port> without resolving any name.

Endpoints spoken (the ones `curation.kaggle_client` makes the client call): ListCompetitions, ListDataFiles,
DownloadDataFiles (302 to a signed-URL-like /storage/<slug>.zip), GetLeaderboard (with overridePublic and
paging), and GET /storage/<slug>.zip. Faults: bad credentials -> 401, rules not accepted -> 403, unknown slug
-> 404, queued statuses per endpoint (429 with Retry-After, 5xx), truncated or garbled archives.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import threading
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import polars as pl
from PIL import Image

SERVICE = "/api/v1/competitions.CompetitionApiService/"
STORAGE = "/storage/"
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"


# ---------------------------------------------------------------------------------------------------------------
# Fixture competitions


def build_zip(files: dict[str, bytes]) -> bytes:
    """A deterministic deflated zip of `files` (name -> bytes), in name order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv().encode()


def spaceship_titanic_files(rows: int = 240, test_rows: int = 60, seed: int = 0) -> dict[str, bytes]:
    """Files shaped like Kaggle's spaceship-titanic: train.csv (PassengerId, features, Transported), test, sample."""
    rng = np.random.default_rng(seed)
    total = rows + test_rows
    group = np.arange(1, total + 1)
    cryo = rng.random(total) < 0.35
    spend = np.where(cryo, 0.0, rng.gamma(1.5, 400.0, total)).round(0)
    frame = pl.DataFrame(
        {
            "PassengerId": [f"{g:04d}_01" for g in group],
            "HomePlanet": rng.choice(["Earth", "Europa", "Mars"], total).tolist(),
            "CryoSleep": cryo.tolist(),
            "Cabin": [
                f"{d}/{n}/{s}"
                for d, n, s in zip(
                    rng.choice(list("ABCDEFG"), total), group, rng.choice(["P", "S"], total), strict=True
                )
            ],
            "Destination": rng.choice(["TRAPPIST-1e", "PSO J318.5-22", "55 Cancri e"], total).tolist(),
            "Age": rng.integers(0, 80, total).astype(float).tolist(),
            "VIP": (rng.random(total) < 0.05).tolist(),
            "RoomService": spend.tolist(),
            "FoodCourt": (spend * rng.random(total)).round(0).tolist(),
            "Name": [f"Passenger {g}" for g in group],
        }
    )
    transported = (cryo | (rng.random(total) < 0.3)) & ~(spend > 1500)
    train = frame.head(rows).with_columns(pl.Series("Transported", transported[:rows].tolist()))
    test = frame.tail(test_rows)
    sample = test.select("PassengerId").with_columns(pl.lit(False).alias("Transported"))
    return {"train.csv": _csv(train), "test.csv": _csv(test), "sample_submission.csv": _csv(sample)}


def _png(color: tuple[int, int, int], seed: int) -> bytes:
    """A tiny 8x8 RGB PNG around `color`, with seeded noise."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(color) + rng.integers(-20, 20, (8, 8, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def image_folder_files(rows: int = 60, test_rows: int = 20, seed: int = 0) -> dict[str, bytes]:
    """Files shaped like an image-folder competition: train.csv (id,label), train/<id>.png, test/<id>.png, sample."""
    rng = np.random.default_rng(seed)
    colors = {"cat": (200, 60, 60), "dog": (60, 200, 60), "bird": (60, 60, 200)}
    labels = rng.choice(list(colors), rows).tolist()
    ids = [f"img{index:05d}" for index in range(rows + test_rows)]
    files: dict[str, bytes] = {}
    for index, (image_id, label) in enumerate(zip(ids[:rows], labels, strict=True)):
        files[f"train/{image_id}.png"] = _png(colors[label], seed * 100_000 + index)
    for index, image_id in enumerate(ids[rows:]):
        label = rng.choice(list(colors))
        files[f"test/{image_id}.png"] = _png(colors[label], seed * 100_000 + rows + index)
    files["train.csv"] = _csv(pl.DataFrame({"id": ids[:rows], "label": labels}))
    files["sample_submission.csv"] = _csv(pl.DataFrame({"id": ids[rows:], "label": ["cat"] * test_rows}))
    return files


@dataclass
class BoardLine:
    """One team's line on a fake leaderboard."""

    team_id: int
    team_name: str
    score: str
    submission_date: str = "2024-01-01T00:00:00.000Z"


def make_board(scores: list[float], *, first_team: int = 1000) -> list[BoardLine]:
    """A leaderboard in the given order, with team names (which the code under test must drop)."""
    return [BoardLine(first_team + i, f"Team {i}", f"{score:.5f}") for i, score in enumerate(scores)]


@dataclass
class FakeCompetition:
    """A competition the fake server knows: its files (zipped on demand), boards and the account's rules state."""

    slug: str
    files: dict[str, bytes]
    title: str = "A fake competition"
    rules_accepted: bool = True
    public_board: list[BoardLine] = field(default_factory=list)
    private_board: list[BoardLine] | None = None  # None: Kaggle shows no private board (competition running)
    deadline: str = "2024-06-01T00:00:00.000Z"

    @property
    def archive(self) -> bytes:
        return build_zip(self.files)


# ---------------------------------------------------------------------------------------------------------------
# The server


@dataclass
class _Fault:
    status: int
    retry_after: str | None = None


class FakeKaggle:
    """The fake Kaggle API server; use as a context manager. Thread-safe request log and fault queues."""

    def __init__(self, *, username: str = "dojo-tester", key: str = "fake-key-123", token: str = "fake-token-456"):
        self.username, self.key, self.token = username, key, token
        self.competitions: dict[str, FakeCompetition] = {}
        self.log: list[tuple[str, str]] = []  # (endpoint, slug) of every request, in order
        self.auth_headers: list[str] = []  # every Authorization header received (to check what was sent)
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._corrupt: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control ------------------------------------------------------------------------------------------------

    def add(self, competition: FakeCompetition) -> FakeCompetition:
        self.competitions[competition.slug] = competition
        return competition

    def fail(self, endpoint: str, *statuses: int, retry_after: str | None = None) -> None:
        """Answer the next calls of `endpoint` ("DownloadDataFiles", ..., "storage") with these statuses."""
        with self._lock:
            self._faults[endpoint].extend(_Fault(status, retry_after) for status in statuses)

    def corrupt(self, slug: str, *modes: str) -> None:
        """Serve the next archive downloads of `slug` damaged: "truncate" (cut in half) or "garble" (bytes flipped)."""
        for mode in modes:
            if mode not in ("truncate", "garble"):
                raise ValueError(f"unknown corruption {mode!r}")
        with self._lock:
            self._corrupt[slug].extend(modes)

    def count(self, endpoint: str, slug: str | None = None) -> int:
        """How many requests `endpoint` received (for `slug`, when given)."""
        with self._lock:
            return sum(1 for e, s in self.log if e == endpoint and (slug is None or s == slug))

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client_env(self) -> dict[str, str]:
        """Environment that sends the real client here: localhost endpoint, this server as its HTTP proxy."""
        return {
            "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
            "HTTP_PROXY": self.url,
            "http_proxy": self.url,
            "NO_PROXY": "",
            "no_proxy": "",
        }

    def __enter__(self) -> FakeKaggle:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-kaggle", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- request handling ---------------------------------------------------------------------------------------

    def _take_fault(self, endpoint: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(endpoint)
            return queue.pop(0) if queue else None

    def _take_corruption(self, slug: str) -> str | None:
        with self._lock:
            queue = self._corrupt.get(slug)
            return queue.pop(0) if queue else None

    def _record(self, endpoint: str, slug: str, auth: str | None) -> None:
        with self._lock:
            self.log.append((endpoint, slug))
            if auth is not None:
                self.auth_headers.append(auth)

    def authorized(self, header: str | None) -> bool:
        if header is None:
            return False
        if header == f"Bearer {self.token}":
            return True
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except ValueError:
                return False
            return decoded == f"{self.username}:{self.key}"
        return False


def _handler_for(fake: FakeKaggle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # the test output stays clean
            return

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            # A client that only wanted the headers (a size probe) may hang up: that is allowed.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _error(self, status: int, message: str, retry_after: str | None = None) -> None:
            headers = {"Retry-After": retry_after} if retry_after else None
            self._json(status, {"code": status, "message": message}, headers)

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not path.startswith(SERVICE):
                fake._record(path, "", self.headers.get("Authorization"))  # e.g. the client's token introspection
                self._error(404, f"no such endpoint {path}")
                return
            endpoint = path[len(SERVICE) :]
            slug = body.get("competitionName") or body.get("search") or ""
            auth = self.headers.get("Authorization")
            fake._record(endpoint, slug, auth)
            fault = fake._take_fault(endpoint)
            if fault is not None:
                self._error(fault.status, f"injected fault {fault.status}", fault.retry_after)
                return
            if not fake.authorized(auth):
                self._error(401, "Unauthenticated")
                return
            method = {
                "ListCompetitions": self._list_competitions,
                "ListDataFiles": self._list_files,
                "DownloadDataFiles": self._download,
                "GetLeaderboard": self._leaderboard,
            }.get(endpoint)
            if method is None:
                self._error(404, f"the fake does not speak {endpoint}")
                return
            method(body)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if not path.startswith(STORAGE) or not path.endswith(".zip"):
                self._error(404, f"no such object {path}")
                return
            slug = path[len(STORAGE) : -len(".zip")]
            fake._record("storage", slug, None)
            fault = fake._take_fault("storage")
            if fault is not None:
                self._error(fault.status, f"injected fault {fault.status}", fault.retry_after)
                return
            competition = fake.competitions.get(slug)
            if competition is None:
                self._error(404, "NoSuchKey")
                return
            data = competition.archive
            damage = fake._take_corruption(slug)
            if damage == "truncate":
                data = data[: len(data) // 2]
            elif damage == "garble":
                middle = len(data) // 3
                data = data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]
            headers = {"Last-Modified": LAST_MODIFIED, "Accept-Ranges": "none"}
            self._send(200, data, "application/zip", headers)

        def _competition(self, body: dict[str, Any]) -> FakeCompetition | None:
            competition = fake.competitions.get(body.get("competitionName", ""))
            if competition is None:
                self._error(404, "Competition not found")
            return competition

        def _list_competitions(self, body: dict[str, Any]) -> None:
            search = body.get("search") or ""
            items = [
                {
                    "id": index + 1,
                    "ref": f"https://www.kaggle.com/competitions/{c.slug}",
                    "title": c.title,
                    "deadline": c.deadline,
                    "teamCount": len(c.private_board or c.public_board),
                    "userHasEntered": c.rules_accepted,
                }
                for index, c in enumerate(fake.competitions.values())
                if search in c.slug
            ]
            self._json(200, {"competitions": items, "nextPageToken": ""})

        def _page(self, items: list[Any], body: dict[str, Any]) -> tuple[list[Any], str]:
            start = int(body.get("pageToken") or 0)
            size = int(body.get("pageSize") or 20)
            end = start + size
            return items[start:end], (str(end) if end < len(items) else "")

        def _list_files(self, body: dict[str, Any]) -> None:
            competition = self._competition(body)
            if competition is None:
                return
            files = [
                {"ref": name, "name": name, "totalBytes": len(data), "creationDate": "2024-01-01T00:00:00.000Z"}
                for name, data in sorted(competition.files.items())
            ]
            page, token = self._page(files, body)
            self._json(200, {"files": page, "nextPageToken": token})

        def _download(self, body: dict[str, Any]) -> None:
            competition = self._competition(body)
            if competition is None:
                return
            if not competition.rules_accepted:
                self._error(403, "You must accept this competition's rules before you'll be able to download files.")
                return
            location = f"http://localhost{STORAGE}{competition.slug}.zip?X-Goog-Signature=fake"
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _leaderboard(self, body: dict[str, Any]) -> None:
            competition = self._competition(body)
            if competition is None:
                return
            board = competition.public_board
            if not body.get("overridePublic") and competition.private_board is not None:
                board = competition.private_board
            lines = [
                {"teamId": b.team_id, "teamName": b.team_name, "submissionDate": b.submission_date, "score": b.score}
                for b in board
            ]
            page, token = self._page(lines, body)
            self._json(200, {"submissions": page, "nextPageToken": token})

    return Handler


# ---------------------------------------------------------------------------------------------------------------
# Test environment


def write_credentials(home: Path, kind: str, fake: FakeKaggle) -> dict[str, str]:
    """Temp credentials of one `kind` ("token", "env", "token_file", "kaggle_json"); returns env vars to set."""
    if kind == "token":
        return {"KAGGLE_API_TOKEN": fake.token}
    if kind == "env":
        return {"KAGGLE_USERNAME": fake.username, "KAGGLE_KEY": fake.key}
    if kind == "token_file":
        (home / ".kaggle").mkdir(parents=True, exist_ok=True)
        (home / ".kaggle" / "access_token").write_text(fake.token + "\n")
        return {}
    if kind == "kaggle_json":
        (home / ".kaggle").mkdir(parents=True, exist_ok=True)
        path = home / ".kaggle" / "kaggle.json"
        path.write_text(json.dumps({"username": fake.username, "key": fake.key}))
        path.chmod(0o600)
        return {}
    raise ValueError(f"unknown credentials kind {kind!r}")


CREDENTIAL_VARS = ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "XDG_CONFIG_HOME")
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def isolated_env(monkeypatch: Any, fake: FakeKaggle, tmp_path: Path, credentials: str | None = "token") -> Path:
    """Point HOME, DOJO_HOME and the client at temp dirs and the fake server; return the temp DOJO_HOME."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    for name in CREDENTIAL_VARS + PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    dojo_home = tmp_path / "dojo"
    monkeypatch.setenv("DOJO_HOME", str(dojo_home))
    for name, value in fake.client_env().items():
        monkeypatch.setenv(name, value)
    if credentials is not None:
        for name, value in write_credentials(home, credentials, fake).items():
            monkeypatch.setenv(name, value)
    return dojo_home


def served(fake: FakeKaggle) -> Iterator[FakeKaggle]:
    """Run `fake` for the duration of a fixture."""
    with fake:
        yield fake
