"""A cgroup v2 per run, where the host delegates one: a memory cap covering tmpfs pages too, and a pids cap."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import time
from pathlib import Path

_counter = itertools.count()


def _cgroup2_mount() -> Path | None:
    """Where the unified (v2) hierarchy is mounted, from /proc/self/mountinfo."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(" - ")
        if len(fields) == 2 and fields[1].split()[0] == "cgroup2":
            return Path(fields[0].split()[4])
    return None


def _own_cgroup() -> Path | None:
    """This process's cgroup v2 directory."""
    mount = _cgroup2_mount()
    if mount is None:
        return None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return mount / line[3:].lstrip("/")
    return None


@functools.cache
def cgroup_problem() -> str | None:
    """None when runs can get a cgroup v2 with memory and pids controllers here; otherwise why not (checked once)."""
    parent = _own_cgroup()
    if parent is None:
        return "no cgroup v2 hierarchy is mounted"
    try:
        available = (parent / "cgroup.controllers").read_text().split()
    except OSError as exc:
        return f"cannot read {parent}/cgroup.controllers: {exc}"
    missing = [name for name in ("memory", "pids") if name not in available]
    if missing:
        return f"the cgroup v2 controllers {', '.join(missing)} are not delegated to {parent}"
    try:
        probe = RunCgroup.create(memory_bytes=64 * 1024**2, max_pids=8)
    except OSError as exc:
        return f"cannot create a child cgroup under {parent}: {exc}"
    probe.remove()
    return None


class RunCgroup:
    """A child cgroup of this process's own for one run: memory.max (no swap) and pids.max set.

    A child needs the memory and pids controllers enabled in the parent's subtree_control, which the kernel
    refuses while the parent itself holds processes (unless it is the root); cgroup_problem reports that case.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, *, memory_bytes: int, max_pids: int) -> RunCgroup:
        parent = _own_cgroup()
        if parent is None:
            raise OSError("no cgroup v2 hierarchy is mounted")
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        wanted = [f"+{name}" for name in ("memory", "pids") if name not in enabled]
        if wanted:
            (parent / "cgroup.subtree_control").write_text(" ".join(wanted))
        path = parent / f"dojo-run-{os.getpid()}-{next(_counter)}"
        path.mkdir()
        group = cls(path)
        try:
            (path / "memory.max").write_text(str(memory_bytes))
            with contextlib.suppress(FileNotFoundError):  # no swap accounting on this kernel
                (path / "memory.swap.max").write_text("0")
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            group.remove()
            raise
        return group

    def enter(self) -> None:
        """Move the calling process in (run in the child between fork and exec)."""
        (self.path / "cgroup.procs").write_text("0")

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the run for exceeding memory.max."""
        try:
            events = (self.path / "memory.events").read_text().split()
        except OSError:
            return False
        counts = dict(zip(events[::2], events[1::2], strict=False))
        return int(counts.get("oom_kill", "0")) > 0

    def remove(self) -> None:
        """Kill whatever is left in the group and delete it."""
        with contextlib.suppress(OSError):  # cgroup.kill (Linux 5.14+) kills the whole group at once
            (self.path / "cgroup.kill").write_text("1")
        for _ in range(50):
            try:
                pids = [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
            except FileNotFoundError:
                return
            for pid in pids:
                if pid <= 0:  # never a member; kill(0) would hit our own process group
                    continue
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.02)
