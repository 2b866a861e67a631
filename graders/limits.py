"""Memory and time limits on a grading child process, and running one under them.

A hostile submission (a header of millions of columns, a gigabyte of text) must not take the memory or
the time of whoever grades it: the env, `dojo grade` and every task's grader.py grade in a child process
that caps its own address space and CPU time, while the parent enforces the wall-clock timeout and turns
any limit or crash into a short message.

Self-contained (stdlib only, plus `from graders.` imports of other embedded modules, which render.py
removes): render.py embeds this module's source in every task's grader.py.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import tempfile
from dataclasses import dataclass

DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT_S = 60.0
MEMORY_PER_SAMPLE_BYTE = 12  # a task whose sample submission is S MiB may use 12 S MiB (a 10M-row board: ~1.4 GiB)
MEMORY_EXIT = 86  # the exit code of a child that caught MemoryError
CHILD_THREADS = 4  # polars threads in the child: each thread's stack and arena count against the memory limit
REPORT_BYTES = 1 << 20  # the child's report is a few hundred bytes; more than this is not a report
STDERR_TAIL = 4096  # bytes of the child's stderr read to explain a crash
# Text a child prints on stderr when an allocation failed: Python's MemoryError, Rust's (polars') abort
# message, the C library's ENOMEM, and the EAGAIN of a thread whose stack could not be mapped.
_OUT_OF_MEMORY = (
    "MemoryError",
    "memory allocation of",
    "Cannot allocate memory",
    "out of memory",
    "Resource temporarily unavailable",
    "failed to spawn thread",
)


@dataclass(frozen=True)
class GradeLimits:
    """Limits on one grading child process.

    `memory_mb` is the address space the grading may add to what the interpreter and its libraries map at
    start-up (so it does not depend on how many threads or shared libraries a machine's polars maps);
    `timeout_s` is the wall-clock time of the whole child, start-up included. The child's CPU time is
    capped too (CHILD_THREADS times the timeout), so that it ends even if its parent is gone.
    """

    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.memory_mb <= 0:
            raise ValueError(f"memory_mb must be positive, got {self.memory_mb}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")

    def to_args(self) -> list[str]:
        """The command-line options that give a child these limits."""
        return ["--memory-mb", str(self.memory_mb), "--timeout-s", repr(float(self.timeout_s))]


def task_limits(sample_submission_bytes: int | None) -> GradeLimits:
    """The default limits for a task: more memory for a task whose answers are large."""
    needed = math.ceil(MEMORY_PER_SAMPLE_BYTE * (sample_submission_bytes or 0) / (1 << 20))
    return GradeLimits(memory_mb=max(DEFAULT_MEMORY_MB, needed))


def child_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a grading child: few threads and malloc arenas, each of which reserves address space."""
    environment = dict(os.environ if base is None else base)
    environment["MALLOC_ARENA_MAX"] = "2"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        environment[name] = "1"
    environment["POLARS_MAX_THREADS"] = str(max(1, min(CHILD_THREADS, os.cpu_count() or 1)))
    return environment


def _mapped_bytes() -> int:
    """The address space this process maps now (VmSize), or 512 MiB where /proc is not there."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 512 << 20


def _lowered(kind: int, value: int) -> None:
    """Set both the soft and the hard limit of `kind` to `value`, never above the current hard limit."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def apply_limits(limits: GradeLimits) -> None:
    """In the child, once its libraries are loaded: cap its address space and CPU time for good."""
    _lowered(resource.RLIMIT_AS, _mapped_bytes() + (limits.memory_mb << 20))
    _lowered(resource.RLIMIT_CPU, _cpu_seconds(limits))


def _cpu_seconds(limits: GradeLimits) -> int:
    """The child's CPU-time limit: its threads together may use the wall-clock timeout each."""
    return math.ceil(limits.timeout_s * CHILD_THREADS) + 1


def _tail(handle, size: int) -> str:
    """The last `size` bytes written to a temporary file, as text."""
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - size))
    return handle.read(size).decode("utf-8", errors="replace")


def _why_stopped(code: int, stderr: str, limits: GradeLimits) -> str:
    """A short message for a child that ended without a report."""
    memory = f"grading stopped: the submission needs more than {limits.memory_mb} MiB to read and score"
    if code == MEMORY_EXIT or any(marker in stderr for marker in _OUT_OF_MEMORY):
        return memory
    if code == -signal.SIGXCPU:
        return f"grading stopped: it used more than {_cpu_seconds(limits)} s of CPU time"
    if code == -signal.SIGKILL:
        return memory + " (the grader was killed, as the system does when memory runs out)"
    lines = [line for line in stderr.splitlines() if line.strip()]
    last = lines[-1].strip()[:300] if lines else "no output"
    how = f"signal {-code}" if code < 0 else f"exit code {code}"
    return f"grading stopped: the grader crashed ({how}): {last}"


def run_limited(
    command: list[str], limits: GradeLimits, extra_env: dict[str, str] | None = None
) -> tuple[dict | None, str | None]:
    """Run a grading child that prints one JSON report; (report, None), or (None, why it stopped).

    The child must call apply_limits itself; this kills it (and anything it started) at the wall-clock
    timeout. Its output goes to temporary files, so a runaway child cannot fill this process's memory.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=child_environment() | (extra_env or {}),
            start_new_session=True,  # its own process group, killed as a whole
        )
        try:
            code = process.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the child is not reaped yet, so its group id is still its own
            process.wait()
            return None, f"grading stopped: it took longer than {limits.timeout_s:g} s"
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)  # interrupted (Ctrl-C): leave no grader running
            process.wait()
            raise
        out.seek(0)
        text = out.read(REPORT_BYTES + 1)
        if code == 0 and len(text) <= REPORT_BYTES:
            try:
                report = json.loads(text.decode("utf-8").strip().splitlines()[-1])
            except (ValueError, IndexError):
                report = None
            if isinstance(report, dict):
                return report, None
        return None, _why_stopped(code, _tail(err, STDERR_TAIL), limits)
