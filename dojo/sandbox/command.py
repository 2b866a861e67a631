"""The bubblewrap command of a run: what is bound where, what is masked, the environment and the rlimits."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from curation.source_packages import all_mount_masks
from dojo.sandbox.seccomp import filter_program

if TYPE_CHECKING:
    from dojo.sandbox import Limits

# Fixed paths inside the sandbox; the observation text tells the agent about them.
DATA_DIR = "/data"
WORK_DIR = "/workspace"
CODE_PATH = "/code/main.py"

# Bubblewrap's own environment: it is the parent of everything in the sandbox (and, unprivileged, pid 1 of
# its pid namespace, readable at /proc/1/environ), so it must not carry the caller's keys or tokens.
BWRAP_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def _memfd(name: str, data: bytes) -> int:
    """A readable fd holding `data` from its start, for bubblewrap to read to the end."""
    descriptor = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(descriptor, data)
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


def bwrap_command(
    public_dir: Path, work_dir: Path, code_file: Path, limits: Limits, uid: int | None, python: str
) -> tuple[list[str], tuple[int, ...]]:
    """The command starting bubblewrap, and the fds it reads its seccomp program and options from.

    The options go through an fd (--args), not the command line: bubblewrap's /proc/N/cmdline can be read
    inside the sandbox and would name host paths (where DOJO_HOME and the episode lie). The caller passes
    the fds to the child and closes them.
    """
    seccomp_fd = _memfd("dojo-seccomp", filter_program())
    options = _bwrap_options(public_dir, work_dir, code_file, limits, uid, seccomp_fd, python)
    args_fd = _memfd("dojo-bwrap-args", b"".join(option.encode() + b"\0" for option in options))
    command = [_bwrap_path(), "--args", str(args_fd), "--", *_inner_command(limits, uid, python)]
    return command, (seccomp_fd, args_fd)


def _bwrap_options(
    public_dir: Path, work_dir: Path, code_file: Path, limits: Limits, uid: int | None, seccomp_fd: int, python: str
) -> list[str]:
    """Bubblewrap's options running `code_file` as CODE_PATH; `uid` set when the host runs as root."""
    # As root, --unshare-all would add a user namespace mapping only uid 0, and the drop to `uid` would fail;
    # root needs no user namespace to make the others (the seccomp filter then forbids nested ones).
    if uid is None:
        unshare = ["--unshare-all", "--unshare-user", "--disable-userns"]
    else:
        unshare = ["--unshare-" + kind for kind in ("ipc", "pid", "net", "uts")]
    argv = [*unshare, "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    argv += ["--hostname", "dojo-sandbox"]
    argv += _system_binds()
    # Sticky world-writable tmpfs, as on a host (the dropped uid must be able to write /tmp and /dev/shm),
    # sized: they are RAM the rlimits do not count.
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--perms", "1777", "--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm"]
    argv += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    argv += _python_binds(python)
    argv += _mask_binds(python)
    argv += ["--ro-bind", str(public_dir), DATA_DIR, "--bind", str(work_dir), WORK_DIR]
    argv += ["--perms", "0755", "--dir", str(Path(CODE_PATH).parent)]
    argv += ["--ro-bind", str(code_file.resolve()), CODE_PATH]
    # Bubblewrap's root and /dev are tmpfs without a size; unprivileged, the code would own them.
    argv += ["--remount-ro", "/dev", "--remount-ro", "/"]
    argv += ["--seccomp", str(seccomp_fd), "--chdir", WORK_DIR, "--clearenv"]
    for key, value in sandbox_env(limits, DATA_DIR, WORK_DIR, python).items():
        argv += ["--setenv", key, value]
    if uid is not None:
        # Root in the sandbox (no user namespace is made for root) drops to an unprivileged uid so that
        # RLIMIT_NPROC applies; setpriv needs these two capabilities and then drops all of them.
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return argv


def _inner_command(limits: Limits, uid: int | None, python: str) -> list[str]:
    """What bubblewrap runs: (as root, a drop to `uid`), the rlimits, then the interpreter on CODE_PATH."""
    argv: list[str] = []
    if uid is not None:
        argv += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
        argv += ["--bounding-set=-all"]
    return [*argv, *prlimit_argv(limits, nproc=True), python, CODE_PATH]


@functools.cache
def _bwrap_path() -> str:
    """Bubblewrap's absolute path (looked up in the caller's PATH; bubblewrap itself gets a minimal one)."""
    return shutil.which("bwrap") or "bwrap"


@functools.cache
def _mask_binds(python: str) -> tuple[str, ...]:
    """Mounts hiding the offline sources' data inside the bound Python dirs: empty tmpfs or /dev/null."""
    roots = [Path(root) for root in bound_sources(python)]
    argv: list[str] = []
    masked_dirs: list[Path] = []
    for path in sorted(_masked_paths(python)):  # a dir sorts before what lies in it
        if not any(path.is_relative_to(root) for root in roots):
            continue  # not bound, so not visible anyway
        if any(path.is_relative_to(directory) for directory in masked_dirs):
            continue  # already hidden by an empty dir mounted above it
        if path.is_dir():
            masked_dirs.append(path)
            argv += ["--perms", "0555", "--size", "4096", "--tmpfs", str(path), "--remount-ro", str(path)]
        else:
            argv += ["--ro-bind", "/dev/null", str(path)]
    return tuple(argv)


def sandbox_env(limits: Limits, data_dir: str, work_dir: str, python: str) -> dict[str, str]:
    """The whole environment of agent code: nothing inherited, so no keys, tokens or DOJO_HOME leak in."""
    threads = str(limits.threads)
    return {
        "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin",
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


def prlimit_argv(limits: Limits, *, nproc: bool) -> list[str]:
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
def _python_roots(python: str) -> tuple[str, ...]:
    """Directories holding an interpreter, its standard library and its venv, outside /usr.

    For a venv (a pyvenv.cfg beside its bin dir) that is the venv and the base installation its `home` names;
    symlinks are followed too, so a venv's bin/python pointing into a pyenv brings that pyenv version.
    """
    executable = Path(python)
    prefix = executable.parent.parent
    candidates = {prefix, Path(os.path.realpath(executable)).parent.parent}
    config = prefix / "pyvenv.cfg"
    if config.is_file():
        for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                candidates.add(Path(value.strip()).parent)
    if python == sys.executable:
        candidates |= {Path(sys.prefix), Path(sys.base_prefix)}
    roots = sorted({path.resolve() for path in candidates} | candidates)
    kept: list[Path] = []
    for path in roots:
        if path.is_relative_to("/usr") or any(path.is_relative_to(other) for other in kept):
            continue
        kept.append(path)
    return tuple(str(path) for path in kept)


def _masked_paths(python: str) -> list[Path]:
    """The offline sources' data an interpreter's packages hold: ours by import lookup, another's by its dirs."""
    if python == sys.executable:
        return all_mount_masks()
    found: list[Path] = []
    for root in _python_roots(python):
        for site_packages in sorted(Path(root).glob("lib/python3*/site-packages")):
            found += all_mount_masks(site_packages)
    return found


def _python_binds(python: str) -> list[str]:
    """Binds of the interpreter's dirs at their own paths, with world-readable parent dirs created first."""
    argv: list[str] = []
    made: set[Path] = set()
    for root in _python_roots(python):
        path = Path(root)
        for parent in reversed(path.parents[:-1]):  # every ancestor except "/"
            if parent not in made:
                made.add(parent)
                argv += ["--perms", "0755", "--dir", str(parent)]
        argv += ["--ro-bind", root, root]
    return argv


def bound_sources(python: str) -> list[str]:
    """Host paths that become visible inside the sandbox (besides the task's public and work dirs)."""
    sources = ["/usr", *_python_roots(python)]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_dir() and not path.is_symlink():
            sources.append(str(path))
    return sources
