"""Fixtures for the attack tests: running a command as an unprivileged user, and dirs that user can reach.

Running as root hides what a normal user's machine exposes (root reads every /proc/N/environ, ignores
RLIMIT_NPROC, owns every file), so each attack that touches answers, secrets or the host also runs as
uid/gid 65534 (`nobody`) through `setpriv`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

NOBODY = 65534

RunAsNobody = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temp dir every user can enter (pytest's own tmp_path is 0700 and root's), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="dojo-attack-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def give_to_nobody(path: Path) -> Path:
    """Make `path` (a dir tree) owned by the unprivileged user, so that user can write there."""
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.lchown(Path(root) / name, NOBODY, NOBODY)
    os.chown(path, NOBODY, NOBODY)
    return path


@pytest.fixture
def to_nobody() -> Callable[[Path], Path]:
    """`give_to_nobody`, for test modules that cannot import this conftest by name."""
    return give_to_nobody


@pytest.fixture
def as_nobody() -> RunAsNobody:
    """A `subprocess.run` that runs its argv as uid/gid 65534 with no supplementary groups.

    Skips when the tests do not run as root (then they already run unprivileged) or setpriv is missing.
    """
    if os.geteuid() != 0:
        pytest.skip("the tests already run as an unprivileged user")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")

    def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 300, **kwargs):
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "LANG": "C.UTF-8"}
        return subprocess.run(
            [*prefix, *argv],
            env=environment | (env or {}),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    return run


def _hidden_ancestor(path: Path) -> tuple[Path, Path] | None:
    """The first ancestor of `path` that other users cannot enter, and its child on the way to `path`."""
    chain = [*reversed(path.parents[:-1]), path]
    for parent, child in itertools.pairwise(chain):
        if not parent.stat().st_mode & stat.S_IXOTH:
            return parent, child
    return None


@pytest.fixture
def nobody_python(as_nobody: RunAsNobody) -> RunAsNobody:
    """Like `as_nobody`, but runs `python -c CODE ARGS...` with this test run's interpreter.

    The interpreter may live where `nobody` cannot go (a pyenv under root's 0700 home). On a normal user's
    machine their Python is their own, so the command runs in a private mount namespace where that one
    ancestor is replaced by a world-traversable tmpfs holding only the interpreter's tree; the host's mounts
    and files are not changed.
    """
    base = Path(os.path.realpath(sys.base_prefix))
    hidden = _hidden_ancestor(base)

    def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 300, **kwargs):
        command = [sys.executable, *argv]
        if hidden is None:
            return as_nobody(command, env=env, timeout=timeout, **kwargs)
        if shutil.which("unshare") is None:
            pytest.skip("unshare (util-linux) is needed to reach the interpreter as nobody")
        blocked, keep = hidden
        script = (
            'set -e; spare=$(mktemp -d); mount --bind "$1" "$spare"; '
            'mount -t tmpfs -o mode=0755,size=1m dojo-reach "$2"; mkdir "$1"; mount --bind "$spare" "$1"; '
            'umount -l "$spare"; rmdir "$spare"; shift 2; '
            f'exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups -- "$@"'
        )
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "LANG": "C.UTF-8"}
        reach = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"]
        return subprocess.run(
            [*reach, str(keep), str(blocked), *command],
            env=environment | (env or {}),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    return run
