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
from dataclasses import dataclass
from pathlib import Path

# Fixed paths inside the sandbox; the observation text tells the agent about them.
DATA_DIR = "/data"
WORK_DIR = "/workspace"
CODE_PATH = "/code/main.py"

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
    """Resource limits of one code execution.

    `cpu_s` None means timeout_s × threads (CPU time can exceed wall time only with parallel threads).
    `memory_mb` is the address-space limit of each process; `max_processes` counts threads too.
    """

    timeout_s: float = 600.0
    memory_mb: int = 4096
    cpu_s: int | None = None
    file_size_mb: int = 1024
    max_processes: int = 256
    threads: int = 2
    output_chars: int = 8000

    def __post_init__(self) -> None:
        for name in ("timeout_s", "memory_mb", "file_size_mb", "max_processes", "threads", "output_chars"):
            if getattr(self, name) <= 0:
                raise SandboxError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")

    @property
    def cpu_seconds(self) -> int:
        if self.cpu_s is not None:
            return self.cpu_s
        return int(self.timeout_s * self.threads) + 1


@dataclass(frozen=True)
class ExecResult:
    """What one run produced.

    `exit_code` is the process's exit status (128 + N when killed by signal N, as bubblewrap reports it);
    `limit` names the limit that stopped the code: timeout, memory, cpu_time, file_size or processes.
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
      and DATA_DIR/WORK_DIR. Limits: address space, CPU time, file size, process count (rlimits), and a
      wall-clock timeout that kills every process of the run, daemonized ones included; when the main
      process exits, whatever it left running is killed too.
    - `hidden` paths (DOJO_HOME, the task's private dir) must not be reachable through any bound path;
      the constructor raises SandboxError if one would be.
    - Without usable bubblewrap, `run` raises SandboxUnavailable (message says how to install it) unless
      `allow_unsandboxed`: then code runs as a plain subprocess with rlimits and a process-group timeout,
      sees the host's real paths (DATA_DIR/WORK_DIR in its environment say which) and has no isolation.
    """

    def __init__(
        self,
        public_dir: Path,
        work_dir: Path,
        limits: Limits | None = None,
        *,
        hidden: tuple[Path, ...] = (),
        allow_unsandboxed: bool = False,
    ) -> None:
        self.public_dir = Path(public_dir).resolve()
        self.work_dir = Path(work_dir).resolve()
        self.limits = limits or Limits()
        if not self.public_dir.is_dir():
            raise SandboxError(f"public dir {self.public_dir} does not exist")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.problem = bubblewrap_problem()
        self.isolated = self.problem is None
        self.allow_unsandboxed = allow_unsandboxed
        self._uid = _sandbox_uid()
        _check_hidden(hidden, [Path(p) for p in _bound_sources()] + [self.public_dir, self.work_dir])
        if self.isolated and self._uid is not None:
            # The sandboxed uid owns the work dir; the public files only need to be world-readable.
            os.chown(self.work_dir, self._uid, self._uid)

    @property
    def available(self) -> bool:
        return self.isolated or self.allow_unsandboxed

    @property
    def data_dir_seen(self) -> str:
        """The task's public files as the code sees them."""
        return DATA_DIR if self.isolated else str(self.public_dir)

    @property
    def work_dir_seen(self) -> str:
        """The work dir (current directory) as the code sees it."""
        return WORK_DIR if self.isolated else str(self.work_dir)

    def run(self, code: str, *, code_file: Path, log_dir: Path, timeout_s: float | None = None) -> ExecResult:
        """Write `code` to `code_file`, run it, keep full stdout/stderr under `log_dir`, return the capped result."""
        if not self.available:
            raise SandboxUnavailable(f"{INSTALL_HINT} ({self.problem})")
        timeout = min(timeout_s, self.limits.timeout_s) if timeout_s is not None else self.limits.timeout_s
        code_file.parent.mkdir(parents=True, exist_ok=True)
        code_file.write_text(code, encoding="utf-8")
        log_dir.mkdir(parents=True, exist_ok=True)
        out_path = log_dir / f"{code_file.stem}.stdout"
        err_path = log_dir / f"{code_file.stem}.stderr"
        if self.isolated:
            argv = _bwrap_argv(self.public_dir, self.work_dir, code_file, self.limits, self._uid)
            env = None  # bwrap --clearenv sets the whole environment itself
            cwd = None
        else:
            argv = [*_prlimit_argv(self.limits, nproc=False), sys.executable, str(code_file)]
            env = _sandbox_env(self.limits, str(self.public_dir), str(self.work_dir))
            cwd = self.work_dir
        started = time.perf_counter()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            # A session of its own, so a timeout can kill the whole process group at once.
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True
            )
            timed_out = not _exits_within(proc, timeout)
            if timed_out:
                # Killing bwrap kills the sandbox's pid-namespace init (--die-with-parent), which takes every
                # process inside with it, daemonized or not.
                _kill_group(proc.pid)
            exit_code = proc.wait()
            if not self.isolated:
                # Unsandboxed, children in the group outlive the main process unless killed explicitly.
                _kill_group(proc.pid)
        duration = time.perf_counter() - started
        if exit_code < 0:  # Popen reports a signal as -N; use bwrap's 128 + N convention in both modes
            exit_code = 128 - exit_code
        stdout, out_cut = read_capped(out_path, self.limits.output_chars)
        stderr, err_cut = read_capped(err_path, self.limits.output_chars)
        limit = "timeout" if timed_out else detect_limit(exit_code, stderr)
        return ExecResult(exit_code, stdout, stderr, out_cut, err_cut, duration, limit, self.isolated)


def _bwrap_argv(public_dir: Path, work_dir: Path, code_file: Path, limits: Limits, uid: int | None) -> list[str]:
    """The bubblewrap command line running `code_file` as CODE_PATH; `uid` set when the host runs as root."""
    # As root, --unshare-all would add a user namespace mapping only uid 0, and the drop to `uid` would fail;
    # root needs no user namespace to make the others.
    unshare = ["--unshare-all"] if uid is None else ["--unshare-" + kind for kind in ("ipc", "pid", "net", "uts")]
    argv = ["bwrap", *unshare, "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    argv += ["--hostname", "dojo-sandbox"]
    argv += _system_binds()
    # Sticky world-writable tmpfs, as on a host: the dropped uid must be able to write /tmp and /dev/shm.
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm"]
    argv += ["--perms", "1777", "--tmpfs", "/tmp"]
    argv += _python_binds()
    argv += ["--ro-bind", str(public_dir), DATA_DIR, "--bind", str(work_dir), WORK_DIR]
    argv += ["--perms", "0755", "--dir", str(Path(CODE_PATH).parent)]
    argv += ["--ro-bind", str(code_file.resolve()), CODE_PATH, "--chdir", WORK_DIR, "--clearenv"]
    for key, value in _sandbox_env(limits, DATA_DIR, WORK_DIR).items():
        argv += ["--setenv", key, value]
    if uid is not None:
        # Root in the sandbox (no user namespace is made for root) drops to an unprivileged uid so that
        # RLIMIT_NPROC applies; setpriv needs these two capabilities and then drops all of them.
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--"]
        argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
        argv += ["--bounding-set=-all"]
    else:
        argv += ["--"]
    argv += [*_prlimit_argv(limits, nproc=True), sys.executable, CODE_PATH]
    return argv


def _sandbox_uid() -> int | None:
    """A fresh unprivileged uid for a sandbox when running as root; None otherwise (the user's own uid is used)."""
    if os.geteuid() != 0:
        return None
    return _SANDBOX_UID_BASE + (os.getpid() % 4096) * 16 + next(_uid_counter) % 16


def _sandbox_env(limits: Limits, data_dir: str, work_dir: str) -> dict[str, str]:
    """The whole environment of agent code: nothing inherited, so no keys, tokens or DOJO_HOME leak in."""
    threads = str(limits.threads)
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp" if data_dir == DATA_DIR else work_dir,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": "agent",
        "LOGNAME": "agent",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": work_dir,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "OMP_NUM_THREADS": threads,
        # Idle OpenMP threads sleep instead of spinning: parallel episodes share the cores, and spinning
        # threads of one run starve the others (scikit-learn's boosting slows down many times over).
        "OMP_WAIT_POLICY": "PASSIVE",
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "NUMEXPR_NUM_THREADS": threads,
        "POLARS_MAX_THREADS": threads,
        "DATA_DIR": data_dir,
        "WORK_DIR": work_dir,
    }


def _prlimit_argv(limits: Limits, *, nproc: bool) -> list[str]:
    """prlimit(1) options setting the rlimits of the command it runs."""
    argv = [
        "prlimit",
        f"--as={limits.memory_mb * 1024 * 1024}",
        # Soft below hard: the code gets SIGXCPU (a clear exit status) before the kernel's SIGKILL.
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}",
        f"--fsize={limits.file_size_mb * 1024 * 1024}",
        "--core=0",
    ]
    if nproc:
        # Outside a sandbox RLIMIT_NPROC would count every process of the host user, so it is set only inside.
        argv.append(f"--nproc={limits.max_processes}")
    return argv


def _exits_within(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait for the process to exit, at most `timeout` seconds; True if it did.

    A pidfd wakes us the moment the process exits; Popen.wait(timeout) instead polls with sleeps growing to
    50 ms, which would add tens of milliseconds to every short run.
    """
    try:
        descriptor = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (old kernel or not Linux): fall back to polling
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        poller = select.poll()
        poller.register(descriptor, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    finally:
        os.close(descriptor)


def _kill_group(pgid: int) -> None:
    """SIGKILL a process group; it may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@functools.cache
def _system_binds() -> tuple[str, ...]:
    """Read-only binds of the system dirs a Python interpreter needs (merged-/usr aware)."""
    argv = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "fonts"):
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return tuple(argv)


@functools.cache
def _python_roots() -> tuple[str, ...]:
    """Directories holding this interpreter, its standard library and its venv, outside /usr."""
    candidates = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    roots = sorted({path.resolve() for path in candidates} | candidates)
    kept: list[Path] = []
    for path in roots:
        if path.is_relative_to("/usr") or any(path.is_relative_to(other) for other in kept):
            continue
        kept.append(path)
    return tuple(str(path) for path in kept)


def _python_binds() -> list[str]:
    """Binds of the interpreter's dirs at their own paths, with world-readable parent dirs created first."""
    argv: list[str] = []
    made: set[Path] = set()
    for root in _python_roots():
        path = Path(root)
        for parent in reversed(path.parents[:-1]):  # every ancestor except "/"
            if parent not in made:
                made.add(parent)
                argv += ["--perms", "0755", "--dir", str(parent)]
        argv += ["--ro-bind", root, root]
    return argv


def _bound_sources() -> list[str]:
    """Host paths that become visible inside the sandbox (besides the task's public and work dirs)."""
    sources = ["/usr", *_python_roots()]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_dir() and not path.is_symlink():
            sources.append(str(path))
    return sources


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
        argv = _bwrap_argv(public, work, code_file, Limits(timeout_s=30), uid)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap failed to start: {exc}"
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
