"""Feedback on a code run written for an LLM: what failed, the likely cause, and what to do about it."""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass

from dojo.sandbox import ExecResult, Limits

# Packages agent code may want; the ones importable in this interpreter are listed in hints.
_CANDIDATE_PACKAGES = (
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "scipy",
    "sklearn",
    "statsmodels",
    "PIL",
    "matplotlib",
    "duckdb",
)

_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration))(?::\s?(.*))?$")

LIMIT_ERROR_TYPES = {
    "timeout": "timeout",
    "memory": "memory_limit",
    "cpu_time": "cpu_time_limit",
    "file_size": "file_size_limit",
    "processes": "process_limit",
    "disk": "disk_limit",
}


@functools.cache
def available_packages() -> tuple[str, ...]:
    """Import names of the common data-science packages present in the sandbox's interpreter."""
    return tuple(name for name in _CANDIDATE_PACKAGES if importlib.util.find_spec(name) is not None)


@dataclass(frozen=True)
class Diagnosis:
    """Why a run failed: an error type (exception name or limit) and the likely cause with a remedy."""

    error_type: str | None
    message: str
    cause: str


def diagnose(result: ExecResult, limits: Limits, *, data_dir: str, work_dir: str) -> Diagnosis:
    """Classify a run from its exit status, the limit it hit and its traceback."""
    if result.limit is not None:
        return Diagnosis(LIMIT_ERROR_TYPES[result.limit], _limit_message(result, limits), _limit_cause(result, limits))
    if result.exit_code == 0:
        return Diagnosis(None, "", "")
    name, detail = _last_exception(result.stderr)
    if name is None:
        if result.exit_code > 128:
            message = f"the process was killed by signal {result.exit_code - 128}"
            return Diagnosis("killed", message, "It may have crashed in native code or exhausted a resource.")
        return Diagnosis("nonzero_exit", f"the code exited with status {result.exit_code}", "")
    return Diagnosis(name, f"{name}: {detail}" if detail else name, _cause(name, detail, data_dir, work_dir))


def _last_exception(stderr: str) -> tuple[str | None, str]:
    """The exception name and message of the last traceback in stderr."""
    if "Traceback (most recent call last)" not in stderr and "SyntaxError" not in stderr:
        return None, ""
    for line in reversed(stderr.strip().splitlines()):
        match = _EXCEPTION_LINE.match(line.strip())
        if match:
            return match.group(1).rsplit(".", 1)[-1], (match.group(2) or "").strip()
    return None, ""


def _limit_message(result: ExecResult, limits: Limits) -> str:
    return {
        "timeout": f"the run was stopped after {limits.timeout_s:g} s of wall-clock time",
        "memory": f"the run ran out of memory (limit {limits.memory_mb} MB of address space per process)",
        "cpu_time": f"the run used up its CPU time ({limits.cpu_seconds} s) and was killed",
        "file_size": f"the run tried to write a file larger than {limits.file_size_mb} MB",
        "processes": f"the run hit the limit of {limits.max_processes} processes and threads",
        "disk": f"the work dir went over its quota of {limits.disk_mb} MB or {limits.max_files} files",
    }[result.limit or ""]


def _limit_cause(result: ExecResult, limits: Limits) -> str:
    return {
        "timeout": "The code is too slow for the time left: sample the training rows, use fewer estimators or "
        "iterations, or a lighter model. Everything the run started was killed.",
        "memory": "Load fewer columns or rows, use smaller dtypes (float32, categorical), avoid dense copies of "
        "large matrices, or choose a model with a smaller footprint.",
        "cpu_time": f"Use fewer or cheaper fits; parallel threads share the budget (threads available: "
        f"{limits.threads}).",
        "file_size": "Write smaller outputs; only submission.csv is needed.",
        "processes": f"Do not start many processes or threads: use n_jobs <= {limits.threads}.",
        "disk": "Delete files you no longer need from the work dir and write fewer, smaller ones.",
    }[result.limit or ""]


def _cause(name: str, detail: str, data_dir: str, work_dir: str) -> str:
    """A likely cause and remedy for a Python exception, given its message."""
    if name in ("ModuleNotFoundError", "ImportError"):
        return (
            "That package is not installed in the sandbox and cannot be installed (there is no network). "
            f"Available: {', '.join(available_packages())}."
        )
    if name == "FileNotFoundError":
        return f"The task's files are under {data_dir} (read-only); write your own files to {work_dir}."
    if name in ("PermissionError", "OSError") and ("Read-only" in detail or "Permission denied" in detail):
        return f"Only {work_dir} (the current directory) and /tmp are writable; {data_dir} is read-only."
    if name in ("ConnectionError", "ConnectionRefusedError", "gaierror", "URLError", "TimeoutError") or (
        "Network is unreachable" in detail
    ):
        return "There is no network in the sandbox: use only the task's files and the installed packages."
    if name == "KeyError":
        return "A column or key does not exist: check the names with request_info data_structure."
    if name in ("SyntaxError", "IndentationError", "TabError"):
        return "Fix the Python syntax at the line shown in the traceback."
    if name == "NameError":
        return "Each run starts a fresh interpreter: define or import every name in the code you send."
    if name == "ValueError" and ("NaN" in detail or "nan" in detail):
        return "The data has missing values: impute them (e.g. SimpleImputer) or use a model that accepts NaN."
    if name == "ValueError" and "could not convert string to float" in detail:
        return "Encode categorical or text columns (OneHotEncoder, TfidfVectorizer) before fitting."
    return "Read the traceback in stderr below."
