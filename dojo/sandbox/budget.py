"""The work dir's disk budget: its bytes and entries, measured without following links, against a quota."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Usage:
    """What a directory tree holds: bytes on disk (a sparse file counts its full size) and entries of any kind."""

    bytes: int
    entries: int

    def describe(self) -> str:
        return f"{self.bytes / 1024**2:,.1f} MB in {self.entries:,} files and dirs"


@dataclass(frozen=True)
class Budget:
    """The most a work dir may hold during and after a run.

    The quota normally; when a run starts already above it (a previous run overshot between two checks), that
    level, so the agent can still run code that deletes files but cannot grow the dir further.
    """

    max_bytes: int
    max_entries: int

    def exceeded_by(self, usage: Usage) -> bool:
        return usage.bytes > self.max_bytes or usage.entries > self.max_entries

    def message(self, usage: Usage, quota_mb: int, quota_entries: int) -> str:
        """The clear, short error the agent reads when the work dir went over."""
        return (
            f"[sandbox] run stopped: the work dir holds {usage.describe()}, over its quota of {quota_mb:,} MB and "
            f"{quota_entries:,} files and dirs. Its files are kept; delete what you do not need to continue."
        )


def measure(root: Path, stop_after: int) -> Usage:
    """Bytes and entries under `root` (not counting root itself); stops early past `stop_after` entries.

    GNU find walks the tree: it copes with any depth and path length the agent can create, and never follows
    symlinks (one made inside the sandbox would point into the host's tree). A dir the agent made unreadable
    is opened up for its owner (`chmod -R u+rwX`) and the walk retried once; still unreadable, it raises.
    """
    usage, errors = _find(root, stop_after)
    if errors:
        subprocess.run(["chmod", "-R", "u+rwX", str(root)], capture_output=True, env=_TOOL_ENV, check=False)
        usage, errors = _find(root, stop_after)
    if errors:
        raise BudgetError(f"cannot measure the work dir: {errors[0]}")
    return usage


class BudgetError(OSError):
    """The work dir could not be measured (the agent made part of it unreadable)."""


_TOOL_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
_ENTRY = re.compile(rb"^([a-zA-Z]) (\d+) (\d+)$")


def _find(root: Path, stop_after: int) -> tuple[Usage, list[str]]:
    """One walk: the usage counted so far and find's errors, except for entries that vanished mid-walk."""
    total = 0
    entries = 0
    errors: list[str] = []
    # One line per entry: type, apparent size, 512-byte blocks; no names, so errors cannot pose as entries.
    argv = ["find", str(root), "-mindepth", "1", "-printf", "%y %s %b\n"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_TOOL_ENV) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            match = _ENTRY.match(line.rstrip(b"\n"))
            if match is None:
                if b"No such file or directory" not in line:
                    errors.append(line.decode("utf-8", errors="replace").strip())
                continue
            entries += 1
            if entries > stop_after:
                proc.kill()
                break
            size = int(match.group(3)) * 512
            if match.group(1) == b"f":  # a sparse file counts its full size
                size = max(size, int(match.group(2)))
            total += size
    return Usage(total, entries), errors
