"""Runs agent code under bubblewrap: no network, read-only task data, a writable work dir, limits, a hard timeout."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dojo.sandbox.budget import Budget, BudgetError, Usage, measure
from dojo.sandbox.capture import Capture, rotate_logs
from dojo.sandbox.cgroup import RunCgroup, cgroup_problem
from dojo.sandbox.command import (
    BWRAP_ENV,
    CODE_PATH,
    DATA_DIR,
    WORK_DIR,
    bound_sources,
    bwrap_command,
    prlimit_argv,
    sandbox_env,
)
from dojo.sandbox.seccomp import seccomp_problem

__all__ = [
    "CODE_PATH",
    "DATA_DIR",
    "DISK_CHECK_S",
    "INSTALL_HINT",
    "WORK_DIR",
    "ExecResult",
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailable",
    "bubblewrap_problem",
    "detect_limit",
    "read_capped",
]

INSTALL_HINT = (
    "Agent code runs under bubblewrap (the `bwrap` command), which is not usable here. Install it with "
    "`sudo apt-get install bubblewrap` (Debian/Ubuntu) or `sudo dnf install bubblewrap` (Fedora), or create "
    "the env with allow_unsandboxed=True to run code without isolation (only for code you trust)."
)

# Sandboxed processes run as a uid of their own when the host runs as root: RLIMIT_NPROC is not enforced
# for uid 0, and a distinct uid per sandbox keeps parallel episodes from sharing one process budget.
_SANDBOX_UID_BASE = 200_000
_uid_counter = itertools.count()


class SandboxUnavailable(RuntimeError):
    """Bubblewrap is missing or cannot create namespaces here, and unsandboxed execution was not allowed."""


class SandboxError(ValueError):
    """A sandbox that would expose what it must hide (answers, DOJO_HOME) or has a bad configuration."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one code execution, and of the work dir and logs of an episode.

    `cpu_s` None means timeout_s × threads (CPU time can exceed wall time only with parallel threads).
    `memory_mb` is the address-space limit of each process (an rlimit); where a cgroup v2 is available the
    run as a whole (all processes plus its /tmp and /dev/shm pages) is also capped at memory_mb plus the two
    tmpfs sizes. /tmp holds at most a quarter of memory_mb and /dev/shm an eighth (RAM-backed, so they count
    against the memory budget rather than the disk's). `max_processes` counts threads too.
    `disk_mb`/`max_files` bound the work dir (bytes, and files plus dirs); `log_kb` is the most each run's
    stdout and stderr logs keep on disk (head and tail); `kept_logs` is how many runs' logs an episode keeps.
    """

    timeout_s: float = 600.0
    memory_mb: int = 4096
    cpu_s: int | None = None
    file_size_mb: int = 1024
    max_processes: int = 256
    threads: int = 2
    output_chars: int = 8000
    disk_mb: int = 2048
    max_files: int = 20_000
    log_kb: int = 1024
    kept_logs: int = 20

    def __post_init__(self) -> None:
        names = ("timeout_s", "memory_mb", "file_size_mb", "max_processes", "threads", "output_chars", "disk_mb")
        for name in (*names, "max_files", "log_kb", "kept_logs"):
            if getattr(self, name) <= 0:
                raise SandboxError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")
        if self.memory_mb < 8:
            raise SandboxError(f"Limits.memory_mb must be at least 8, got {self.memory_mb}")

    @property
    def cpu_seconds(self) -> int:
        if self.cpu_s is not None:
            return self.cpu_s
        return int(self.timeout_s * self.threads) + 1

    @property
    def tmp_bytes(self) -> int:
        """Size of the RAM-backed /tmp: a quarter of memory_mb."""
        return self.memory_mb * 1024**2 // 4

    @property
    def shm_bytes(self) -> int:
        """Size of the RAM-backed /dev/shm: an eighth of memory_mb."""
        return self.memory_mb * 1024**2 // 8

    @property
    def log_bytes(self) -> int:
        """Bytes each output stream keeps on disk; never less than what the result shows."""
        return max(self.log_kb * 1024, 2 * self.output_chars)


@dataclass(frozen=True)
class ExecResult:
    """What one run produced.

    `exit_code` is the process's exit status (128 + N when killed by signal N, as bubblewrap reports it);
    `limit` names the limit that stopped the code: timeout, memory, cpu_time, file_size, processes or disk
    (the work dir went over its quota; stderr then ends with a line saying so).
    `stdout`/`stderr` are capped: the head and the tail are kept around a marker saying how much was cut.
    """

    exit_code: int
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    duration_s: float
    limit: str | None
    sandboxed: bool

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None


class Sandbox:
    """Runs Python code for one episode.

    Contract:
    - With bubblewrap, the code sees the task's public files read-only at DATA_DIR (/data), a writable work
      dir at WORK_DIR (/workspace, the current directory, kept between runs of an episode), a private /tmp,
      the Python installation read-only, and nothing else of the host: no network namespace access (not even
      the host's loopback), no other processes, an environment with only PATH, HOME, locale, thread counts
      and DATA_DIR/WORK_DIR. Bubblewrap itself starts with a minimal environment, so no process in the
      sandbox's pid namespace (whose /proc is its own) holds the parent's keys or tokens.
    - The data of every offline source package (curation.source_packages) is masked: dirs by an empty
      read-only tmpfs, files by /dev/null; the packages' code still imports, loading a dataset fails.
    - A seccomp filter makes creating user namespaces (nested sandboxes that could mount unbounded tmpfs),
      ptrace, process_vm_readv/writev, setns and the kernel keyrings fail with EPERM; unprivileged, bubblewrap's
      --disable-userns also forbids nested user namespaces. The root of the sandbox and /dev are read-only.
    - Limits: address space, CPU time, file size, process count (rlimits); a cgroup v2 memory and pids cap
      per run where the host delegates one (`memory_control` says which is in force); /tmp and /dev/shm are
      tmpfs sized from memory_mb; a wall-clock timeout kills every process of the run, daemonized ones
      included, and when the main process exits whatever it left running is killed too.
    - Disk: the work dir is a plain host dir (it persists across the runs of an episode and works the same as
      root and as a normal user) under an enforced budget: a watchdog measures its bytes and entries every
      DISK_CHECK_S seconds while code runs and once after it exits; over `disk_mb` or `max_files`, the run is
      killed with limit "disk" and a message in stderr. Nothing is deleted: a run that starts over the quota
      may shrink the dir but not grow it. Between two checks a run can overshoot by what it writes in that
      time (each file is capped by file_size_mb).
    - Logs: stdout and stderr are read through pipes; each log file keeps at most `log_kb` (head and tail
      around a marker) and only the newest `kept_logs` runs' logs stay in `log_dir`.
    - `python` is the interpreter agent code runs on (default: this process's own): its installation and,
      for a venv, the base installation it was made from are bound read-only at their own paths, and the
      offline sources' data in their site-packages is masked; nothing of this process's venv is bound then.
    - `hidden` paths (DOJO_HOME, the task's private dir) must not be reachable through any bound path;
      the constructor raises SandboxError if one would be.
    - Without usable bubblewrap, `run` raises SandboxUnavailable (message says how to install it) unless
      `allow_unsandboxed`: then code runs as a plain subprocess with rlimits, the disk budget and a
      process-group timeout, sees the host's real paths (DATA_DIR/WORK_DIR in its environment say which)
      and has no isolation.
    """

    def __init__(
        self,
        public_dir: Path,
        work_dir: Path,
        limits: Limits | None = None,
        *,
        hidden: tuple[Path, ...] = (),
        allow_unsandboxed: bool = False,
        python: Path | None = None,
    ) -> None:
        self.public_dir = Path(public_dir).resolve()
        self.python = str(Path(python).absolute()) if python is not None else sys.executable
        if not os.access(self.python, os.X_OK):
            raise SandboxError(f"the interpreter {self.python} for agent code does not exist or is not executable")
        self.work_dir = Path(work_dir).resolve()
        self.limits = limits or Limits()
        if not self.public_dir.is_dir():
            raise SandboxError(f"public dir {self.public_dir} does not exist")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.problem = bubblewrap_problem()
        self.isolated = self.problem is None
        self.allow_unsandboxed = allow_unsandboxed
        self._uid = _sandbox_uid()
        # The work dir changes only while code runs (a run's processes die with it), so the walk that ends a
        # run within budget also starts the next one: one walk per short run instead of two.
        self._settled_usage: Usage | None = None
        _check_hidden(hidden, [Path(p) for p in bound_sources(self.python)] + [self.public_dir, self.work_dir])
        if self.isolated and self._uid is not None:
            # The sandboxed uid owns the work dir; the public files only need to be world-readable.
            os.chown(self.work_dir, self._uid, self._uid)

    @property
    def available(self) -> bool:
        return self.isolated or self.allow_unsandboxed

    @property
    def memory_control(self) -> str:
        """Which memory cap runs get: "cgroup" (a cgroup v2 per run, with a pids cap) or "rlimit" (per process)."""
        return "cgroup" if cgroup_problem() is None else "rlimit"

    @property
    def data_dir_seen(self) -> str:
        """The task's public files as the code sees them."""
        return DATA_DIR if self.isolated else str(self.public_dir)

    @property
    def work_dir_seen(self) -> str:
        """The work dir (current directory) as the code sees it."""
        return WORK_DIR if self.isolated else str(self.work_dir)

    def run(self, code: str, *, code_file: Path, log_dir: Path, timeout_s: float | None = None) -> ExecResult:
        """Write `code` to `code_file`, run it, keep its capped stdout/stderr under `log_dir`, return the result."""
        if not self.available:
            raise SandboxUnavailable(f"{INSTALL_HINT} ({self.problem})")
        limits = self.limits
        timeout = min(timeout_s, limits.timeout_s) if timeout_s is not None else limits.timeout_s
        code_file.parent.mkdir(parents=True, exist_ok=True)
        code_file.write_text(code, encoding="utf-8")
        log_dir.mkdir(parents=True, exist_ok=True)
        start_usage = self._settled_usage
        self._settled_usage = None
        if start_usage is None:
            try:
                start_usage = measure(self.work_dir, limits.max_files * 4)
            except BudgetError:
                start_usage = Usage(0, 0)  # the watchdog then stops the run and says why
        budget = Budget(max(limits.disk_mb * 1024**2, start_usage.bytes), max(limits.max_files, start_usage.entries))
        disk = _DiskWatch(self.work_dir, budget)
        started = time.perf_counter()
        proc, group = self._launch(code_file)
        out, err = Capture(limits.log_bytes), Capture(limits.log_bytes)
        try:
            stop = _supervise(proc, out, err, timeout, disk.over)
            if stop is not None:
                # Killing bwrap kills the sandbox's pid-namespace init (--die-with-parent), which takes every
                # process inside with it, daemonized or not.
                _kill_group(proc.pid)
            exit_code = proc.wait()
            if not self.isolated:
                # Unsandboxed, children in the group outlive the main process unless killed explicitly.
                _kill_group(proc.pid)
            _drain(proc, out, err)
        finally:
            oom = group is not None and group.oom_killed()
            if group is not None:
                group.remove()
        duration = time.perf_counter() - started
        if stop == "disk" or disk.over():  # a run stopped by its timeout is told about its disk too
            stop = stop or "disk"
            err.add(("\n" + disk.message(limits) + "\n").encode())
        else:
            self._settled_usage = disk.usage
        out.save(log_dir / f"{code_file.stem}.stdout")
        err.save(log_dir / f"{code_file.stem}.stderr")
        rotate_logs(log_dir, limits.kept_logs)
        if exit_code < 0:  # Popen reports a signal as -N; use bwrap's 128 + N convention in both modes
            exit_code = 128 - exit_code
        stdout, out_cut = out.text(limits.output_chars)
        stderr, err_cut = err.text(limits.output_chars)
        limit = stop or ("memory" if oom else detect_limit(exit_code, stderr))
        return ExecResult(exit_code, stdout, stderr, out_cut, err_cut, duration, limit, self.isolated)

    def _launch(self, code_file: Path) -> tuple[subprocess.Popen, RunCgroup | None]:
        """Start the run (in a cgroup of its own where one can be made), its output going to two pipes."""
        limits = self.limits
        group = None
        if self.memory_control == "cgroup":
            memory = limits.memory_mb * 1024**2 + limits.tmp_bytes + limits.shm_bytes
            group = RunCgroup.create(memory_bytes=memory, max_pids=limits.max_processes + 8)
        fds: tuple[int, ...] = ()
        try:
            if self.isolated:
                argv, fds = bwrap_command(self.public_dir, self.work_dir, code_file, limits, self._uid, self.python)
                env, cwd = BWRAP_ENV, None
            else:
                argv = [*prlimit_argv(limits, nproc=False), self.python, str(code_file)]
                env = sandbox_env(limits, str(self.public_dir), str(self.work_dir), self.python)
                cwd = self.work_dir
            # A session of its own, so a timeout can kill the whole process group at once.
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                start_new_session=True,
                pass_fds=fds,
                preexec_fn=group.enter if group is not None else None,
            )
        except BaseException:
            if group is not None:
                group.remove()
            raise
        finally:
            for descriptor in fds:
                os.close(descriptor)
        return proc, group


# How often the watchdog measures the work dir while code runs.
DISK_CHECK_S = 0.25


class _DiskWatch:
    """Measures a work dir against its budget and remembers the last measurement, for the message."""

    def __init__(self, work_dir: Path, budget: Budget) -> None:
        self.work_dir = work_dir
        self.budget = budget
        self.usage = Usage(0, 0)
        self.problem: str | None = None

    def over(self) -> bool:
        """Whether the work dir is over its budget (or cannot be measured) right now."""
        try:
            self.usage = measure(self.work_dir, self.budget.max_entries)
        except BudgetError as exc:
            self.problem = str(exc)
            return True
        return self.budget.exceeded_by(self.usage)

    def message(self, limits: Limits) -> str:
        if self.problem is not None:
            return f"[sandbox] run stopped: {self.problem}"
        return self.budget.message(self.usage, limits.disk_mb, limits.max_files)


def _supervise(
    proc: subprocess.Popen, out: Capture, err: Capture, timeout: float, over_disk: Callable[[], bool]
) -> str | None:
    """Read the run's output until it exits; "timeout" or "disk" when it must be stopped, None when it exited.

    One poll loop, woken by output, by the process's exit (a pidfd) or by the next disk check, so a short run
    costs no sleeps and a run printing without end cannot grow anything but the two bounded captures.
    """
    assert proc.stdout is not None and proc.stderr is not None
    streams = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    poller = select.poll()
    for descriptor in streams:
        poller.register(descriptor, select.POLLIN)
    try:
        pidfd: int | None = os.pidfd_open(proc.pid)
        poller.register(pidfd, select.POLLIN)
    except (AttributeError, OSError):  # no pidfd (old kernel): notice the exit at each wake-up instead
        pidfd = None
    deadline = time.monotonic() + timeout
    next_check = time.monotonic() + DISK_CHECK_S
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                return "timeout"
            if now >= next_check:
                if over_disk():
                    return "disk"
                next_check = time.monotonic() + DISK_CHECK_S
            wait = min(deadline, next_check) - time.monotonic()
            if pidfd is None:
                wait = min(wait, 0.05)
            for descriptor, _event in poller.poll(max(0.0, wait) * 1000):
                if descriptor == pidfd:
                    continue
                data = os.read(descriptor, 1 << 16)
                if data:
                    streams[descriptor].add(data)
                else:
                    poller.unregister(descriptor)
            if proc.poll() is not None:
                return None
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _drain(proc: subprocess.Popen, out: Capture, err: Capture, grace_s: float = 2.0) -> None:
    """Read what is left in the pipes after the run ended; give up after `grace_s` (a survivor holding them)."""
    assert proc.stdout is not None and proc.stderr is not None
    streams = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    poller = select.poll()
    for descriptor in streams:
        poller.register(descriptor, select.POLLIN)
    deadline = time.monotonic() + grace_s
    open_streams = set(streams)
    while open_streams and time.monotonic() < deadline:
        for descriptor, _event in poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
            data = os.read(descriptor, 1 << 16)
            if data:
                streams[descriptor].add(data)
            else:
                poller.unregister(descriptor)
                open_streams.discard(descriptor)
    proc.stdout.close()
    proc.stderr.close()


def _sandbox_uid() -> int | None:
    """A fresh unprivileged uid for a sandbox when running as root; None otherwise (the user's own uid is used)."""
    if os.geteuid() != 0:
        return None
    return _SANDBOX_UID_BASE + (os.getpid() % 4096) * 16 + next(_uid_counter) % 16


def _kill_group(pgid: int) -> None:
    """SIGKILL a process group; it may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _check_hidden(hidden: tuple[Path, ...], bound: list[Path]) -> None:
    """Refuse a configuration where a path that must stay hidden lies inside a bound path."""
    for secret in hidden:
        secret = Path(secret).resolve()
        for source in bound:
            source = source.resolve()
            if secret.is_relative_to(source):
                raise SandboxError(f"{secret} must not be visible to agent code but lies inside bound path {source}")


@functools.cache
def bubblewrap_problem() -> str | None:
    """None when bubblewrap can run this interpreter in a sandbox here; otherwise why not (checked once)."""
    if shutil.which("bwrap") is None:
        return "`bwrap` is not on PATH"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "`setpriv` (util-linux) is not on PATH; it is needed to drop root inside the sandbox"
    if shutil.which("prlimit") is None:
        return "`prlimit` (util-linux) is not on PATH"
    problem = seccomp_problem()
    if problem is not None:
        return problem
    with tempfile.TemporaryDirectory(prefix="dojo-probe-") as tmp:
        public = Path(tmp) / "public"
        public.mkdir()
        work = Path(tmp) / "work"
        work.mkdir()
        uid = _sandbox_uid()
        if uid is not None:
            os.chown(work, uid, uid)
        code_file = Path(tmp) / "probe.py"
        code_file.write_text("import os\nopen('ok', 'w').write(os.environ['WORK_DIR'])\n")
        argv, fds = bwrap_command(public, work, code_file, Limits(timeout_s=30), uid, sys.executable)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=BWRAP_ENV, pass_fds=fds)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap failed to start: {exc}"
        finally:
            for descriptor in fds:
                os.close(descriptor)
        if done.returncode != 0 or not (work / "ok").is_file():
            return f"bwrap cannot create a sandbox here (exit {done.returncode}): {done.stderr.strip()[:500]}"
    return None


def read_capped(path: Path, cap: int) -> tuple[str, bool]:
    """The text of a log file, or its head and tail around a marker when longer than `cap` bytes."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if size <= cap:
            return handle.read().decode("utf-8", errors="replace"), False
        half = cap // 2
        head = handle.read(half)
        handle.seek(size - half)
        tail = handle.read()
    cut = size - len(head) - len(tail)
    marker = f"\n[... {cut:,} bytes cut; {size:,} bytes in all ...]\n"
    return head.decode("utf-8", errors="replace") + marker + tail.decode("utf-8", errors="replace"), True


_MEMORY = re.compile(r"MemoryError|Unable to allocate|Cannot allocate memory|std::bad_alloc|out of memory")
_PROCESSES = re.compile(r"Resource temporarily unavailable|can't start new thread|pthread_create failed")


def detect_limit(exit_code: int, stderr: str) -> str | None:
    """Which rlimit most likely stopped a run, from its exit status and stderr."""
    if exit_code == 128 + signal.SIGXCPU:
        return "cpu_time"
    if exit_code == 128 + signal.SIGXFSZ or "File too large" in stderr:
        return "file_size"
    if exit_code == 0:
        return None
    if _MEMORY.search(stderr):
        return "memory"
    if _PROCESSES.search(stderr):
        return "processes"
    return None
