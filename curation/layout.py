"""Where everything lives under DOJO_HOME (see DESIGN.md, On-disk layout)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TASK_POINTER = "CURRENT"  # tasks/<slug>/CURRENT holds the version that is served (written by curation.serving only)
# tasks/<slug>/CHECKED: the version the last task step built and whose blocking checks passed, awaiting its
# leaderboard; never served.
CHECKED_POINTER = "CHECKED"


def dojo_home(override: str | os.PathLike[str] | None = None) -> Path:
    """DOJO_HOME: the override, else $DOJO_HOME, else the XDG data dir; never the working directory."""
    if override is not None:
        return Path(override).expanduser().resolve()
    if os.environ.get("DOJO_HOME"):
        return Path(os.environ["DOJO_HOME"]).expanduser().resolve()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return (Path(xdg) / "mle-dojo").resolve()


@dataclass(frozen=True)
class Home:
    """Paths under one DOJO_HOME."""

    root: Path

    @classmethod
    def from_env(cls, override: str | os.PathLike[str] | None = None) -> Home:
        return cls(dojo_home(override))

    def raw_dir(self, slug: str) -> Path:
        return self.root / "raw" / slug

    def task_root(self, slug: str) -> Path:
        return self.root / "tasks" / slug

    def task_dir(self, slug: str, version: str) -> Path:
        return self.task_root(slug) / version

    def current_task_dir(self, slug: str) -> Path | None:
        """The served version of a task, or None when it was never built."""
        pointer = self.task_root(slug) / TASK_POINTER
        if not pointer.is_file():
            return None
        version = pointer.read_text().strip()
        path = self.task_dir(slug, version)
        return path if (path / "task.json").is_file() else None

    def leaderboard_dir(self, slug: str) -> Path:
        return self.root / "leaderboards" / slug

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.duckdb"

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def failures_dir(self) -> Path:
        return self.root / "failures"


def set_pointer(task_root: Path, name: str, version: str) -> None:
    """Point tasks/<slug>/<name> at `version` atomically."""
    task_root.mkdir(parents=True, exist_ok=True)
    tmp = task_root / f".{name}.{uuid.uuid4().hex}"
    tmp.write_text(version + "\n")
    os.replace(tmp, task_root / name)


def read_pointer(task_root: Path, name: str) -> str | None:
    """The version tasks/<slug>/<name> points at, or None."""
    pointer = task_root / name
    if not pointer.is_file():
        return None
    return pointer.read_text().strip() or None


def set_current(task_root: Path, version: str) -> None:
    """Point tasks/<slug>/CURRENT at `version` atomically (builds serve through curation.serving.serve)."""
    set_pointer(task_root, TASK_POINTER, version)


TEMP_PREFIX = ".tmp-"
# <prefix><name>-<pid>-<12 hex>[.wal]: the writer's pid tells a dead writer's leftovers from a live one's work;
# DuckDB writes its log beside a temp database as <temp>.wal.
_TEMP_NAME = re.compile(rf"^{re.escape(TEMP_PREFIX)}.+-(\d+)-[0-9a-f]{{12}}(?:\.wal)?$")


def temp_path_beside(final: Path) -> Path:
    """A hidden temp path next to `final`, named after it and after this process."""
    return final.parent / f"{TEMP_PREFIX}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned_temps(directory: Path) -> list[Path]:
    """Delete temp files and dirs in `directory` whose writer is gone (killed mid-write); return them."""
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for path in directory.glob(f"{TEMP_PREFIX}*"):
        match = _TEMP_NAME.match(path.name)
        if not match or pid_alive(int(match.group(1))):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temp dir beside `final`; rename it into place only if the block succeeds.

    Readers never see a half-written directory: either the old one or the new whole one. Temps that a
    killed writer left beside it are removed first.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temps(final.parent)
    tmp = temp_path_beside(final)
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file by temp-then-rename so a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_beside(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)


class LockTimeout(TimeoutError):
    """Another process held a lock file longer than the caller would wait."""


_held: dict[Path, int] = {}  # lock path -> nesting depth in this process (flock is per open file, not re-entrant)
_held_guard = threading.Lock()


@contextmanager
def file_lock(path: Path, *, timeout_s: float = 120.0, poll_s: float = 0.1) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if missing); re-entrant within this process.

    The kernel drops the lock when its holder dies, so a killed writer never leaves it held. Waits at most
    `timeout_s`, then raises LockTimeout naming the file.
    """
    path = Path(path)
    with _held_guard:
        if _held.get(path):
            _held[path] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"{path}: held by another process for over {timeout_s:g}s") from None
                time.sleep(poll_s)
        with _held_guard:
            _held[path] = 1
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(path, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_is_held(path: Path) -> bool:
    """Whether some process (this one included) holds the flock on `path` right now."""
    if _held.get(Path(path)):
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
