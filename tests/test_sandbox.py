"""The sandbox under attack: each escape attempt is stopped and reported, and the sandbox keeps working."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from dojo import sandbox as sandbox_module
from dojo.feedback import diagnose
from dojo.sandbox import (
    DATA_DIR,
    WORK_DIR,
    Limits,
    Sandbox,
    SandboxError,
    SandboxUnavailable,
    bubblewrap_problem,
    read_capped,
)
from dojo.sandbox import cgroup as cgroup_module
from dojo.sandbox.budget import Budget, measure
from dojo.sandbox.capture import Capture, rotate_logs

needs_bwrap = pytest.mark.skipif(
    bubblewrap_problem() is not None, reason=f"bubblewrap unusable: {bubblewrap_problem()}"
)


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    """A fake DOJO_HOME with a task's public and private dirs, and a work dir outside it."""
    home = tmp_path / "home"
    public = home / "tasks" / "t" / "v1" / "public"
    private = home / "tasks" / "t" / "v1" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    (public / "train.csv").write_text("id,x,y\n1,0.5,1\n2,0.1,0\n")
    (private / "answers.parquet").write_bytes(b"SECRET-ANSWERS")
    return {
        "home": home,
        "public": public,
        "private": private,
        "work": tmp_path / "run" / "work",
        "run": tmp_path / "run",
    }


def _sandbox(dirs: dict[str, Path], **limits) -> Sandbox:
    return Sandbox(
        dirs["public"],
        dirs["work"],
        Limits(**({"timeout_s": 20.0} | limits)),
        hidden=(dirs["home"] / "tasks", dirs["private"]),
    )


def _run(box: Sandbox, dirs: dict[str, Path], code: str, name: str = "main"):
    return box.run(code, code_file=dirs["run"] / "code" / f"{name}.py", log_dir=dirs["run"] / "logs")


@needs_bwrap
def test_code_sees_data_read_only_and_work_dir_writable(dirs):
    box = _sandbox(dirs)
    result = _run(
        box,
        dirs,
        "import os\n"
        f"print(open('{DATA_DIR}/train.csv').read().splitlines()[0])\n"
        "open('out.txt', 'w').write('hello')\n"
        "print(os.getcwd())\n",
    )
    assert result.ok, result.stderr
    assert result.stdout.splitlines() == ["id,x,y", WORK_DIR]
    assert (dirs["work"] / "out.txt").read_text() == "hello"
    assert result.sandboxed


@needs_bwrap
def test_private_answers_and_dojo_home_are_unreachable(dirs):
    box = _sandbox(dirs)
    code = (
        "import os\n"
        "found = []\n"
        "for root, _dirs, files in os.walk('/'):\n"
        "    if root.startswith(('/proc', '/sys', '/usr')):\n"
        "        continue\n"
        "    found += [os.path.join(root, f) for f in files if 'answers' in f]\n"
        "print('FOUND', found)\n"
        f"for path in [{str(dirs['private'] / 'answers.parquet')!r}, {str(dirs['home'])!r}]:\n"
        "    print(path, os.path.exists(path))\n"
    )
    result = _run(box, dirs, code)
    assert result.ok, result.stderr
    assert "FOUND []" in result.stdout
    assert "SECRET" not in result.stdout
    assert " True" not in result.stdout


@needs_bwrap
def test_environment_is_cleared_of_secrets(dirs, monkeypatch):
    monkeypatch.setenv("KAGGLE_KEY", "kaggle-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("DOJO_HOME", str(dirs["home"]))
    result = _run(_sandbox(dirs), dirs, "import os\nprint(sorted(os.environ.items()))\n")
    assert result.ok, result.stderr
    for leaked in ("kaggle-secret", "sk-secret", "KAGGLE", "OPENAI", "DOJO_HOME", str(dirs["home"])):
        assert leaked not in result.stdout
    assert "'DATA_DIR', '/data'" in result.stdout


@needs_bwrap
def test_no_connection_to_a_server_on_host_loopback(dirs):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                accepted.append(server.accept())
                return
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\nprint('CONNECTED')\n"
    result = _run(_sandbox(dirs), dirs, code)
    thread.join()
    server.close()
    assert "CONNECTED" not in result.stdout
    assert result.exit_code != 0
    assert "ConnectionRefusedError" in result.stderr or "Network is unreachable" in result.stderr
    assert accepted == []


@needs_bwrap
def test_writes_outside_the_work_dir_fail_and_leave_the_host_untouched(dirs):
    outside = dirs["home"] / "planted.txt"
    code = (
        "import os\n"
        "for path in ['/data/x.txt', '/etc/planted', '/usr/planted', "
        f"{str(outside)!r}, {str(dirs['public'] / 'y.txt')!r}]:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('WROTE', path)\n"
        "    except OSError as exc:\n"
        "        print('DENIED', path, type(exc).__name__)\n"
    )
    result = _run(_sandbox(dirs), dirs, code)
    assert result.ok, result.stderr
    assert (
        "WROTE /data" not in result.stdout and "WROTE /usr" not in result.stdout and "WROTE /etc" not in result.stdout
    )
    assert not outside.exists()
    assert sorted(p.name for p in dirs["public"].iterdir()) == ["train.csv"]


@needs_bwrap
def test_memory_limit_stops_a_huge_allocation(dirs):
    box = _sandbox(dirs, memory_mb=512)
    result = _run(box, dirs, "x = bytearray(2 * 1024 ** 3)\nprint('ALLOCATED')\n")
    assert "ALLOCATED" not in result.stdout
    assert result.limit == "memory"
    assert _run(box, dirs, "print('still works')\n", "after").stdout == "still works\n"


@needs_bwrap
def test_timeout_kills_the_run_and_everything_it_started(dirs):
    token = f"dojo-timeout-{os.getpid()}-{time.monotonic_ns()}"
    code = (
        "import os, subprocess, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    os.execvp('sleep', ['sleep', '300', {token!r}])\n"
        "time.sleep(300)\n"
    )
    box = _sandbox(dirs, timeout_s=2.0)
    started = time.monotonic()
    result = _run(box, dirs, code)
    assert time.monotonic() - started < 15
    assert result.limit == "timeout"
    time.sleep(0.5)
    survivors = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and token.encode() in (proc / "cmdline").read_bytes():
                survivors.append(proc.name)
        except OSError:
            continue
    assert survivors == []


@needs_bwrap
def test_a_daemonized_background_process_dies_with_the_run(dirs):
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(1.5)\n"
        "        open('daemon_was_here', 'w').write('x')\n"
        "    os._exit(0)\n"
        "print('parent done')\n"
    )
    result = _run(_sandbox(dirs), dirs, code)
    assert result.ok and result.stdout == "parent done\n"
    time.sleep(3)
    assert not (dirs["work"] / "daemon_was_here").exists()


@needs_bwrap
def test_process_limit_stops_a_fork_bomb(dirs):
    code = "import os, time\nfor _ in range(500):\n    if os.fork() == 0:\n        time.sleep(5)\n        os._exit(0)\n"
    result = _run(_sandbox(dirs, max_processes=32), dirs, code)
    assert result.limit == "processes"
    assert "BlockingIOError" in result.stderr


@needs_bwrap
def test_cpu_and_file_size_limits(dirs):
    box = _sandbox(dirs, cpu_s=1, file_size_mb=1)
    spin = _run(box, dirs, "while True:\n    pass\n", "spin")
    assert spin.limit == "cpu_time"
    big = _run(box, dirs, "open('big.bin', 'wb').write(b'0' * (3 * 1024 * 1024))\n", "big")
    assert big.limit == "file_size"
    assert (dirs["work"] / "big.bin").stat().st_size <= 1024 * 1024


@needs_bwrap
def test_output_is_capped_with_a_marker_and_kept_in_full_on_disk(dirs):
    result = _run(_sandbox(dirs, output_chars=1000), dirs, "print('a' * 5000 + 'END')\n", "loud")
    assert result.stdout_truncated
    assert "bytes cut" in result.stdout
    assert result.stdout.rstrip().endswith("END")
    assert len(result.stdout) < 1200
    assert (dirs["run"] / "logs" / "loud.stdout").stat().st_size > 5000


def test_a_hidden_path_inside_a_bound_path_is_refused(dirs):
    with pytest.raises(SandboxError, match="must not be visible"):
        Sandbox(dirs["public"], dirs["work"], hidden=(dirs["public"] / "secret",))


def test_without_bubblewrap_code_is_refused_with_install_instructions(dirs, monkeypatch):
    monkeypatch.setattr(sandbox_module, "bubblewrap_problem", lambda: "`bwrap` is not on PATH")
    box = Sandbox(dirs["public"], dirs["work"])
    assert not box.available
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        _run(box, dirs, "print(1)\n")


def test_unsandboxed_mode_runs_with_real_paths_and_a_cleared_environment(dirs, monkeypatch):
    monkeypatch.setattr(sandbox_module, "bubblewrap_problem", lambda: "`bwrap` is not on PATH")
    monkeypatch.setenv("KAGGLE_KEY", "kaggle-secret")
    box = Sandbox(dirs["public"], dirs["work"], Limits(timeout_s=20), allow_unsandboxed=True)
    result = _run(box, dirs, "import os\nprint(os.environ['DATA_DIR'])\nprint('KAGGLE_KEY' in os.environ)\n")
    assert result.ok, result.stderr
    assert result.stdout.splitlines() == [str(dirs["public"].resolve()), "False"]
    assert not result.sandboxed


def test_read_capped_keeps_head_and_tail(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"H" * 100 + b"M" * 1000 + b"T" * 100)
    text, cut = read_capped(path, 200)
    assert cut and text.startswith("H" * 100) and text.endswith("T" * 100) and "1,000 bytes cut" in text
    assert read_capped(path, 5000) == ("H" * 100 + "M" * 1000 + "T" * 100, False)


def test_capture_keeps_exact_head_and_tail_and_bounds_what_it_saves(tmp_path):
    stream = bytes(range(256)) * 40  # 10,240 distinct-ish bytes
    capture = Capture(keep=1000)
    for start in range(0, len(stream), 333):
        capture.add(stream[start : start + 333])
    head, tail, cut = capture.ends(800)
    assert head == stream[:400] and tail == stream[-400:] and cut == len(stream) - 800
    capture.save(tmp_path / "log")
    saved = (tmp_path / "log").read_bytes()
    assert saved.startswith(stream[:500]) and saved.endswith(stream[-500:]) and len(saved) < 1100
    assert b"9,240 bytes cut; 10,240 bytes in all" in saved
    # Just over the cap, before the tail was ever trimmed: the last bytes reach back into the head.
    short = Capture(keep=1000)
    short.add(stream[:850])
    head, tail, cut = short.ends(800)
    assert head == stream[:400] and tail == stream[450:850] and cut == 50
    assert short.text(5000) == (stream[:850].decode("utf-8", errors="replace"), False)


def test_rotate_logs_keeps_the_newest_runs(tmp_path):
    for index in range(5):
        for suffix in (".stdout", ".stderr"):
            path = tmp_path / f"step_{index:03d}{suffix}"
            path.write_text("x")
            os.utime(path, ns=(index * 10**9, index * 10**9))
    (tmp_path / "other.txt").write_text("kept")
    rotate_logs(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other.txt",
        "step_003.stderr",
        "step_003.stdout",
        "step_004.stderr",
        "step_004.stdout",
    ]


def test_measure_counts_links_without_following_them_and_opens_locked_dirs(tmp_path):
    root = tmp_path / "work"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.bin").write_bytes(b"a" * 10_000)
    (root / "to_usr").symlink_to("/usr")  # inside a sandbox this would be the sandbox's /usr, never followed
    locked = root / "locked"
    locked.mkdir()
    (locked / "b.bin").write_bytes(b"b" * 5_000)
    locked.chmod(0)
    # Nested deeper than a path can name (PATH_MAX is 4096): built through dir fds, as agent code could.
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(24):
        os.mkdir("d" * 250, dir_fd=descriptor)
        deeper = os.open("d" * 250, os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptor)
        os.close(descriptor)
        descriptor = deeper
    leaf = os.open("deep.bin", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
    os.write(leaf, b"c" * 20_000)
    os.close(leaf)
    os.close(descriptor)
    usage = measure(root, stop_after=100)
    assert usage.entries == 5 + 25 and 35_000 <= usage.bytes < 200_000
    assert measure(root, stop_after=2).entries == 3  # stops early, one past the budget
    budget = Budget(max_bytes=12_000, max_entries=100)
    assert budget.exceeded_by(usage) and "over its quota of 1 MB" in budget.message(usage, 1, 100)


@needs_bwrap
def test_a_disk_limit_is_reported_to_the_agent_with_a_remedy(dirs):
    box = _sandbox(dirs, disk_mb=1, max_files=50)
    result = _run(box, dirs, "open('big.bin', 'wb').write(b'x' * 3 * 2 ** 20)\n")
    assert result.limit == "disk"
    diagnosis = diagnose(result, box.limits, data_dir=DATA_DIR, work_dir=WORK_DIR)
    assert diagnosis.error_type == "disk_limit"
    assert "quota of 1 MB" in diagnosis.message and "Delete files" in diagnosis.cause
    assert (dirs["work"] / "big.bin").stat().st_size == 3 * 2**20  # kept, not lost


@needs_bwrap
def test_a_run_enters_its_own_cgroup_and_an_oom_kill_there_reads_as_the_memory_limit(dirs, tmp_path, monkeypatch):
    """The cgroup wiring on a fake v2 hierarchy of plain files (this host may delegate no real one)."""
    parent = tmp_path / "cgroup"
    parent.mkdir()
    (parent / "cgroup.controllers").write_text("cpu memory pids\n")
    (parent / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(cgroup_module, "_own_cgroup", lambda: parent)
    monkeypatch.setattr(sandbox_module, "cgroup_problem", lambda: None)
    real_create = cgroup_module.RunCgroup.create.__func__

    def create(cls, **kwargs):
        group = real_create(cls, **kwargs)
        (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")
        return group

    monkeypatch.setattr(cgroup_module.RunCgroup, "create", classmethod(create))
    box = _sandbox(dirs, memory_mb=256, max_processes=32)
    assert box.memory_control == "cgroup"
    result = _run(box, dirs, "print('hi')\n")
    (child,) = [path for path in parent.iterdir() if path.is_dir()]
    assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (child / "memory.max").read_text() == str(256 * 2**20 + 64 * 2**20 + 32 * 2**20)
    assert (child / "pids.max").read_text() == "40"
    assert (child / "cgroup.procs").read_text() == "0"  # written by the child itself before exec
    assert result.stdout == "hi\n" and result.limit == "memory"


def test_a_missing_interpreter_is_refused_by_name(dirs):
    with pytest.raises(SandboxError, match="interpreter /nonexistent/bin/python"):
        Sandbox(dirs["public"], dirs["work"], python=Path("/nonexistent/bin/python"))


@needs_bwrap
def test_one_walk_per_short_run_and_the_budget_still_holds_across_runs(dirs, monkeypatch):
    """The walk that ends a run within budget starts the next one; a run over budget is measured afresh."""
    walks = []
    real_measure = sandbox_module.measure

    def counting_measure(root, stop_after):
        walks.append(stop_after)
        return real_measure(root, stop_after)

    monkeypatch.setattr(sandbox_module, "measure", counting_measure)
    box = _sandbox(dirs, disk_mb=1, max_files=50)
    assert _run(box, dirs, "open('a.bin', 'wb').write(b'x' * 700_000)\n", "one").ok
    assert len(walks) == 2  # before (nothing settled yet) and after
    assert _run(box, dirs, "open('b.bin', 'wb').write(b'x' * 700_000)\n", "two").limit == "disk"
    assert len(walks) == 3  # the settled walk of run one stood in for a walk before run two
    # Started over the quota, a run is measured afresh: it may not grow the dir, but may shrink it.
    assert _run(box, dirs, "open('c.bin', 'wb').write(b'x' * 1000)\n", "three").limit == "disk"
    assert len(walks) == 5
    assert _run(box, dirs, "import os\nos.remove('b.bin')\nos.remove('c.bin')\n", "four").ok
    assert _run(box, dirs, "print(1)\n", "five").ok
    assert len(walks) == 8  # four measured afresh (two walks), five started from four's settled walk
