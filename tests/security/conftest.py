"""Fixtures for the attack tests: running a command as an unprivileged user, and dirs that user can reach.

Running as root hides what a normal user's machine exposes (root reads every /proc/N/environ, ignores
RLIMIT_NPROC, owns every file), so each attack that touches answers, secrets or the host also runs as
uid/gid 65534 (`nobody`) through `setpriv`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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
