"""Where everything lives under DOJO_HOME (see DESIGN.md, On-disk layout)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TASK_POINTER = "CURRENT"  # tasks/<slug>/CURRENT holds the version that is served


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


def set_current(task_root: Path, version: str) -> None:
    """Point tasks/<slug>/CURRENT at `version` atomically."""
    tmp = task_root / f".{TASK_POINTER}.{uuid.uuid4().hex}"
    tmp.write_text(version + "\n")
    os.replace(tmp, task_root / TASK_POINTER)


TEMP_PREFIX = ".tmp-"
# <prefix><name>-<pid>-<12 hex>: the writer's pid tells a dead writer's leftovers from a live one's work.
_TEMP_NAME = re.compile(rf"^{re.escape(TEMP_PREFIX)}.+-(\d+)-[0-9a-f]{{12}}$")


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
