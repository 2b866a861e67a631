"""Attacks on the env through `step`: malformed actions, deep trees, a full disk, reward farming, leftover dirs.

Whatever an agent sends or leaves in its work dir, `step` answers with an observation and the episode goes
on; repeating a step never raises an episode's return; an env without out_dir leaves nothing behind.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from task_fixtures import SAMPLE_COPY, fast_solution, make_task

import dojo
from dojo import trajectory as trajectory_module
from dojo.env import remove_tree
from dojo.registration import ENTRY_POINT
from dojo.sandbox import Sandbox, bubblewrap_problem
from dojo.trajectory import load_episode

needs_bwrap = pytest.mark.skipif(
    bubblewrap_problem() is not None, reason=f"bubblewrap unusable: {bubblewrap_problem()}"
)
DEPTH = 3000
# Agent code building a DEPTH-deep dir tree (its paths pass PATH_MAX) and locking one level of it down.
DEEP_TREE = f"""\
import os
for _ in range({DEPTH}):
    os.mkdir("d")
    os.chdir("d")
open("bottom.txt", "w").write("x")
os.chdir(os.environ["WORK_DIR"])
os.chmod("d/d", 0)
print("built")
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("attack-home")
    make_task(root, "binary")
    make_task(root, "regression")
    return root


def _act(name: str, **params: Any) -> dict[str, Any]:
    return {"action": name, "params": params}


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


class _Loud:
    """An object whose every conversion to text fails."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


MALFORMED = {
    "json-100k-deep": '{"action": "get_history", "params": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "json-100k-deep-unclosed": "[" * 100_000,
    "dict-deep-action": {"action": _nested(100_000), "params": {}},
    "dict-deep-params": {"action": "execute_code", "params": {"code": _nested(100_000)}},
    "json-lone-surrogate": '{"action": "execute_code", "params": {"code": "print(1)\\ud800"}}',
    "dict-lone-surrogate": _act("execute_code", code="print('\ud800')\n"),
    "json-surrogate-info-type": '{"action": "request_info", "params": {"info_type": "\\udfff"}}',
    "json-int-5000-digits": '{"action": "submit", "params": {"step": 1' + "0" * 5000 + "}}",
    "dict-int-5000-digits": _act("submit", step=10**5000),
    "dict-step-huge": _act("submit", step=10**100),
    "json-float-overflow": '{"action": "submit", "params": {"step": 1e999999}}',
    "json-nan": '{"action": "submit", "params": {"step": NaN}}',
    "not-json": "run my code please",
    "oversized": json.dumps(_act("execute_code", code="x = 1\n" * 500_000)),
    "none": None,
    "int": 7,
    "float": 2.5,
    "list": ["execute_code", "print(1)"],
    "bytes-not-json": b"\xff\xfe not json",
    "bytes-json": b'{"action": "request_info", "params": {"info_type": 3}}',
    "set": {"execute_code"},
    "object": _Loud(),
    "tuple-key": {("action",): "submit"},
    "mixed-keys": {1: "a", "b": 2, None: 3},
    "params-list": {"action": "execute_code", "params": ["print(1)"]},
    "code-int": _act("execute_code", code=42),
    "code-object": _act("execute_code", code=_Loud()),
    "step-bool": _act("submit", step=True),
    "info-type-list": _act("request_info", info_type=["all"]),
    "extra-params-object": {"action": "get_history", "params": {_Loud(): 1}},
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_action_becomes_an_invalid_action_observation_and_the_episode_goes_on(make_env, name):
    env = make_env()
    env.reset()
    observation, reward, terminated, truncated, info = env.step(MALFORMED[name])
    assert observation["status"] == "invalid_action" and observation["error_type"] == "invalid_action"
    reason = observation["text"].split("\n")[0]
    assert reason.startswith("Invalid action: ") and len(reason) < 300, reason
    assert reward == 0.0 and not terminated and not truncated and info["step"] == 1
    assert env.observation_space.contains(observation)
    following, *_ = env.step(_act("get_history"))
    assert following["status"] == "ok" and "step 1: invalid -> invalid_action" in following["text"]
    env.close()
    episode = load_episode(env.unwrapped.out_dir / "episode-001")  # every record was written and reads back
    assert [step["observation"]["status"] for step in episode.steps] == ["invalid_action", "ok"]
    assert len(episode.steps[0]["raw_action"]) < 1_300_000


def test_specific_reasons_name_what_is_wrong(make_env):
    env = make_env()
    env.reset()
    expected = {
        "json-100k-deep": "nested 100,001 levels deep; the limit is 32",
        "json-lone-surrogate": "lone surrogate '\\ud800' at character 8",
        "json-int-5000-digits": "number too long to read",
        "oversized": "the limit is 1,210,000",
        "mixed-keys": "unknown top-level keys [",
        "dict-step-huge": "positive integer step number",
    }
    for name, message in expected.items():
        observation, *_ = env.step(MALFORMED[name])
        assert message in observation["text"], (name, observation["text"][:300])


def test_deep_trees_are_removed_without_recursion(tmp_path):
    root = tmp_path / "deep"
    root.mkdir()
    descriptor = os.open(root, os.O_RDONLY)
    for _ in range(DEPTH):  # relative to a dir fd: the full path is far past PATH_MAX
        os.mkdir("d", dir_fd=descriptor)
        inner = os.open("d", os.O_RDONLY, dir_fd=descriptor)
        os.close(descriptor)
        descriptor = inner
    os.close(descriptor)
    remove_tree(root)  # Python 3.11's shutil.rmtree recurses, and fails here with RecursionError
    assert not root.exists()
    remove_tree(root)  # a missing path is fine


@needs_bwrap
def test_a_deep_locked_tree_in_the_work_dir_does_not_break_reset_step_or_close(make_env):
    kept = make_env(exec_timeout_s=60, keep_work=True)  # the tree survives the episode's end, for reset to face
    kept.reset()
    built, *_ = kept.step(_act("execute_code", code=DEEP_TREE))
    # The run must report (an observation, whatever the host made of the tree), and the episode go on.
    assert (built["status"] == "ok" and built["stdout"] == "built\n") or built["error_type"] == "host_error"
    again, *_ = kept.step(_act("execute_code", code="import os\nprint(sorted(os.listdir('.')))\n"))
    assert again["stdout"] == "['d']\n" or again["error_type"] == "host_error"
    work = kept.unwrapped.out_dir / "work"
    assert (work / "d").is_dir()
    observation, _ = kept.reset()
    assert observation["status"] == "ok" and list(work.iterdir()) == []
    short = make_env(exec_timeout_s=60, max_steps=1)
    short.reset()
    *_, truncated, _ = short.step(_act("execute_code", code=DEEP_TREE))
    assert truncated and not (short.unwrapped.out_dir / "work").exists()  # dropped at the episode's end
    short.reset()
    short.close()


@needs_bwrap
def test_a_full_disk_while_writing_code_or_logs_is_an_error_observation(make_env, monkeypatch):
    env = make_env()
    env.reset()

    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/host/secret/path")

    with monkeypatch.context() as patch:
        patch.setattr(Sandbox, "run", no_space)
        observation, reward, terminated, truncated, _ = env.step(_act("execute_code", code=SAMPLE_COPY))
    assert observation["status"] == "error" and observation["error_type"] == "disk_full"
    assert "disk is full" in observation["text"] and "/host/secret" not in observation["text"]
    assert reward == 0.0 and not terminated and not truncated
    scored, *_ = env.step(_act("execute_code", code=SAMPLE_COPY))
    assert scored["status"] == "ok" and scored["score"] == 0.5


@needs_bwrap
def test_a_full_disk_while_writing_the_trajectory_is_an_error_observation(make_env, monkeypatch):
    env = make_env()
    env.reset()

    def half_then_no_space(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(trajectory_module, "_write_all", half_then_no_space)
        observation, *_ = env.step(_act("execute_code", code=SAMPLE_COPY))
    assert observation["status"] == "error" and observation["error_type"] == "disk_full"
    assert "trajectory record could not be written" in observation["text"]
    history, *_ = env.step(_act("get_history"))
    assert history["status"] == "ok"
    env.close()
    episode = load_episode(env.unwrapped.out_dir / "episode-001")  # no half line left behind
    assert [step["step"] for step in episode.steps] == [2]


def _run_in_tmpfs(mount: Path, script: str, home: Path) -> subprocess.CompletedProcess:
    """Run `script` in a private mount namespace where `mount` is a 4 MB tmpfs."""
    mount.mkdir()
    shell = f'mount -t tmpfs -o size=4m tmpfs "{mount}" && exec "{sys.executable}" -c "$0"'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell, script],
        env={**os.environ, "DOJO_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_bwrap
def test_agent_code_filling_a_real_disk_gets_observations_not_exceptions(home, tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("mounting a small tmpfs needs root and unshare")
    out = tmp_path / "small-disk"
    script = textwrap.dedent(
        f"""
        import json, os
        from pathlib import Path
        import dojo
        out = Path({str(out)!r})
        env = dojo.make("tiny-binary", out_dir=out)
        env.reset()
        fill = "f = open('fill', 'wb')\\ntry:\\n    while True:\\n        f.write(b'x' * 65536); f.flush()\\n"
        fill += "except OSError as exc:\\n    print('filled', exc.errno)\\n"
        statuses = []
        for action in (
            {{"action": "execute_code", "params": {{"code": fill}}}},
            {{"action": "execute_code", "params": {{"code": "print('after')"}}}},
            {{"action": "get_history", "params": {{}}}},
        ):
            observation, *_ = env.step(action)
            statuses.append([observation["status"], observation["error_type"]])
        (out / "work" / "fill").unlink()  # the host frees space; the episode carries on
        observation, reward, *_ = env.step({{"action": "execute_code", "params": {{"code": {SAMPLE_COPY!r}}}}})
        statuses.append([observation["status"], observation["score"]])
        env.close()
        print(json.dumps(statuses))
        """
    )
    done = _run_in_tmpfs(out, script, home)
    assert done.returncode == 0, done.stderr[-3000:]
    statuses = json.loads(done.stdout.strip().splitlines()[-1])
    assert statuses[0][0] in ("ok", "error")  # the run itself may or may not get to report the full disk
    assert statuses[1] == ["error", "disk_full"] and statuses[2] == ["error", "disk_full"]
    assert statuses[3] == ["ok", 0.5]


# ---- reward farming ---------------------------------------------------------------------------------------

GOOD_BINARY = fast_solution("binary")
GOOD_REGRESSION = fast_solution("regression")


def _episode_return(env: gym.Env, actions: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    env.reset()
    total, info = 0.0, {}
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        if terminated or truncated:
            break
    over, reward, *_ = env.step(_act("submit"))  # submitting again after the end pays nothing
    assert over["status"] == "episode_over" and reward == 0.0
    return total, info["final"]


@needs_bwrap
@pytest.mark.parametrize(
    ("mode", "slug"), [("position", "tiny-binary"), ("delta", "tiny-binary"), ("raw", "tiny-regression")]
)
def test_repeating_a_step_never_raises_the_return_in_any_reward_mode(make_env, mode, slug):
    good = GOOD_BINARY if slug == "tiny-binary" else GOOD_REGRESSION
    env = make_env(slug, reward_mode=mode, max_steps=12)
    run = _act("execute_code", code=SAMPLE_COPY)
    once, final_once = _episode_return(env, [run, _act("submit")])
    four, _ = _episode_return(env, [run, run, run, run, _act("validate_code", code=SAMPLE_COPY), _act("submit")])
    assert four == pytest.approx(once)
    short = make_env(slug, reward_mode=mode, max_steps=4)  # ends by truncation, without a submit
    mixed, final = _episode_return(short, [run, _act("execute_code", code=good), run, _act("execute_code", code=good)])
    best_then_submit, _ = _episode_return(env, [_act("execute_code", code=good), _act("submit")])
    repeated_best, _ = _episode_return(env, [_act("execute_code", code=good)] * 4 + [_act("submit")])
    assert repeated_best == pytest.approx(best_then_submit)
    sign = 1.0 if final["higher_is_better"] else -1.0
    if mode == "position":
        assert once == pytest.approx(final_once["best_public_position"] + final_once["private_position"])
        assert once == pytest.approx(0.25 + 0.25)  # the sample ties the dummy, last of four on both boards
    elif mode == "delta":
        assert once == pytest.approx(final_once["best_public_position"])
    else:
        assert once == pytest.approx(sign * final_once["best_public_score"] + sign * final_once["private_score"])
    # Without a submit (truncated by steps), the return is what the best public result earned, no more.
    expected = final["best_public_position"] if mode != "raw" else sign * final["best_public_score"]
    assert mixed == pytest.approx(expected)


# ---- leftovers --------------------------------------------------------------------------------------------


def test_check_env_without_an_out_dir_leaves_no_directories_behind(home, tmp_path, monkeypatch):
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    identifier = "mle-dojo-attacks/tiny-binary-v0"  # an id of its own: the other modules' homes differ
    if identifier not in gym.registry:
        gym.register(id=identifier, entry_point=ENTRY_POINT, kwargs={"slug": "tiny-binary", "home": str(home)})
    env = gym.make(identifier).unwrapped  # no out_dir, as a plain gym.make(env_id) gives none
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)
    assert env.out_dir.parent == private_tmp
    assert len(list(env.out_dir.glob("episode-*"))) == 1  # only the current episode is kept meanwhile
    env.close()
    assert list(private_tmp.iterdir()) == [] and not (home / "runs").exists()


def test_an_unclosed_env_without_an_out_dir_is_cleaned_when_collected(home, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    env = dojo.make("tiny-binary", home=home).unwrapped
    env.reset()
    env.step(_act("get_history"))
    out = env.out_dir
    assert out.is_dir()
    del env
    gc.collect()
    assert not out.exists()


# ---- as an unprivileged user ------------------------------------------------------------------------------

NOBODY_SCRIPT = """\
import json, sys
import dojo
home, out, code, deep = sys.argv[1:5]
results = {}
for mode in ("position", "raw"):
    env = dojo.make("tiny-binary", home=home, out_dir=f"{out}/{mode}", reward_mode=mode)
    returns = []
    for repeat in (1, 4):
        _, info = env.reset()
        assert info["sandboxed"], env.step({"action": "execute_code", "params": {"code": code}})[0]["text"]
        total = sum(env.step({"action": "execute_code", "params": {"code": code}})[1] for _ in range(repeat))
        total += env.step({"action": "submit", "params": {}})[1]
        returns.append(total)
    results[mode] = returns
    env.close()
env = dojo.make("tiny-binary", home=home, out_dir=f"{out}/deep", exec_timeout_s=60)
env.reset()
built = env.step({"action": "execute_code", "params": {"code": deep}})[0]
built = built["stdout"] if built["status"] == "ok" else built["error_type"]
deep_nested = "[" * 100000
bad = env.step(deep_nested)[0]
locked = "; ".join(
    ["import os", "open('submission.csv', 'w').write('id,target')", "os.chmod('submission.csv', 0)",
     "os.chmod(os.environ['WORK_DIR'], 0)"]
)
env.step({"action": "execute_code", "params": {"code": locked}})
after_lock = env.step({"action": "execute_code", "params": {"code": "print('still here')"}})[0]["status"]
observation, _ = env.reset()
left = sorted(p.name for p in (env.out_dir / "work").iterdir())
results["deep"] = [built, bad["status"], after_lock, observation["status"], left]
env.close()
print(json.dumps(results))
"""


@needs_bwrap
def test_farming_and_deep_trees_as_an_unprivileged_user(nobody_python, open_tmp, to_nobody):
    home = open_tmp / "home"
    make_task(home, "binary")
    out = open_tmp / "runs"
    out.mkdir()
    to_nobody(open_tmp)
    done = nobody_python(["-c", NOBODY_SCRIPT, str(home), str(out), SAMPLE_COPY, DEEP_TREE], cwd="/")
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for mode in ("position", "raw"):
        once, four = results[mode]
        assert once > 0 and four == pytest.approx(once), (mode, once, four)
    built, bad, after_lock, reset, left = results["deep"]
    assert built in ("built\n", "host_error") and (bad, reset, left) == ("invalid_action", "ok", [])
    assert after_lock in ("ok", "error")  # a locked work dir gets an observation, and reset cleans it up
