"""Episode trajectories: one JSONL line per reset and per step, written as they happen, read back for export."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

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
        self._handle: IO[str] | None = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the episode

    def write(self, kind: str, record: dict[str, Any]) -> None:
        if self._handle is None:
            raise TrajectoryError(f"{self.path}: writer is closed")
        full = {"schema": SCHEMA_VERSION, "type": kind, "episode": self.episode, "task": self.task, "time": now_iso()}
        full.update(record)
        self._handle.write(json.dumps(_jsonable(full), ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


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
