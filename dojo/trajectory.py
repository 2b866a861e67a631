"""Episode trajectories: one JSONL line per reset and per step, written as they happen, read back for export."""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TRAJECTORY_FILE = "trajectory.jsonl"
SUMMARY_FILE = "summary.json"
SCHEMA_VERSION = 1


class TrajectoryError(ValueError):
    """A trajectory file that cannot be read: which file, which line, what is wrong."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _jsonable(value: Any) -> Any:
    """NaN and infinities become None: JSON has no spelling for them and trainers choke on the extensions."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class TrajectoryWriter:
    """Appends records to an episode's trajectory.jsonl, one flushed line each, so a crash loses at most one step.

    Record kinds (field `type`): "reset" (observation, info, seed) then one "step" per env.step (step,
    action, raw_action, observation, reward, terminated, truncated, timings, code_file, submission, scores,
    agent). Every record carries `schema`, `episode`, `task` and `time`.
    """

    def __init__(self, path: Path, *, episode: str, task: str) -> None:
        self.path = path
        self.episode = episode
        self.task = task
        path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered appends: a failed write (a full disk) leaves nothing queued to be written out later.
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, kind: str, record: dict[str, Any]) -> None:
        """Append one record as a line; on OSError (e.g. a full disk) the file is left as it was, then it raises."""
        if self._fd is None:
            raise TrajectoryError(f"{self.path}: writer is closed")
        full = {"schema": SCHEMA_VERSION, "type": kind, "episode": self.episode, "task": self.task, "time": now_iso()}
        full.update(record)
        line = json.dumps(_jsonable(full), ensure_ascii=False, default=str) + "\n"
        # Agent text may hold lone surrogates, which UTF-8 cannot encode; they become "?".
        data = line.encode("utf-8", errors="replace")
        size = os.fstat(self._fd).st_size
        try:
            _write_all(self._fd, data)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size)  # no half line for readers to trip over
            raise

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd` (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@dataclass(frozen=True)
class Episode:
    """One episode read back: its directory, the reset record, the step records and the summary if written."""

    path: Path
    reset: dict[str, Any]
    steps: list[dict[str, Any]]
    summary: dict[str, Any] | None


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a trajectory.jsonl; TrajectoryError names the line that does not parse."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrajectoryError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(record, dict) or record.get("type") not in ("reset", "step"):
                raise TrajectoryError(f"{path}:{number}: not a trajectory record (no type reset|step)")
            records.append(record)
    return records


def load_episode(episode_dir: Path) -> Episode:
    """Read an episode dir (trajectory.jsonl, optional summary.json)."""
    records = read_records(episode_dir / TRAJECTORY_FILE)
    if not records or records[0]["type"] != "reset":
        raise TrajectoryError(f"{episode_dir / TRAJECTORY_FILE}: the first record must be the reset")
    summary_path = episode_dir / SUMMARY_FILE
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else None
    return Episode(episode_dir, records[0], [r for r in records[1:] if r["type"] == "step"], summary)


def find_episodes(run_dir: Path) -> list[Path]:
    """Episode dirs (holding trajectory.jsonl) anywhere under run_dir, in path order."""
    if (run_dir / TRAJECTORY_FILE).is_file():
        return [run_dir]
    return sorted(path.parent for path in run_dir.rglob(TRAJECTORY_FILE))
