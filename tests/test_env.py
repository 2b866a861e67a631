"""The Gymnasium env on hand-built fixture tasks: API contract, every action's paths, rewards, budgets, releases."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from task_fixtures import BOARD_SCORES, SAMPLE_COPY, fast_solution, make_task

import dojo
from dojo import sandbox as sandbox_module
from dojo.actions import ACTION_NAMES, INFO_TYPES
from dojo.sandbox import bubblewrap_problem
from dojo.task import TaskNotFound
from graders.ranking import position_score

needs_bwrap = pytest.mark.skipif(
    bubblewrap_problem() is not None, reason=f"bubblewrap unusable: {bubblewrap_problem()}"
)

GOOD_BINARY = fast_solution("binary")
GOOD_REGRESSION = fast_solution("regression")
WRONG_COLUMNS = """\
open("submission.csv", "w").write("identifier,prediction\\n1,0.5\\n")
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dojo-home")
    for kind in ("binary", "multiclass", "regression"):
        make_task(root, kind)
    return root


def _act(name: str, **params) -> dict:
    return {"action": name, "params": params}


def test_register_envs_registers_every_built_task_and_tolerates_an_empty_home(home, tmp_path):
    ids = dojo.register_envs(home)
    assert ids == ["mle-dojo/tiny-binary-v0", "mle-dojo/tiny-multiclass-v0", "mle-dojo/tiny-regression-v0"]
    assert all(identifier in gym.registry for identifier in ids)
    assert dojo.register_envs(tmp_path / "nothing-here") == []
    (tmp_path / "empty" / "tasks" / "half-built").mkdir(parents=True)
    assert dojo.register_envs(tmp_path / "empty") == []


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_gymnasium_env_checker_passes_for_every_registered_task(home, tmp_path, kind):
    identifier = dojo.env_id(f"tiny-{kind}")
    assert identifier in dojo.register_envs(home)
    env = gym.make(identifier, out_dir=tmp_path / "checked")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning is a failure too
        check_env(env.unwrapped)
    env.close()


def test_reset_gives_a_fresh_work_dir_and_episode_trajectory(make_env):
    env = make_env()
    observation, info = env.reset(seed=3)
    assert observation["status"] == "ok" and observation["steps_left"] == 20
    assert "roc_auc" in observation["text"] and "/data" in observation["text"]
    assert Path(info["trajectory"]).is_file()
    env.step(_act("execute_code", code="open('leftover.txt', 'w').write('x')\n"))
    assert (env.unwrapped.out_dir / "work" / "leftover.txt").exists()
    _, second = env.reset()
    assert second["episode_dir"] != info["episode_dir"]
    assert not (env.unwrapped.out_dir / "work" / "leftover.txt").exists()
    first_records = [json.loads(line) for line in Path(info["trajectory"]).read_text().splitlines()]
    assert [r["type"] for r in first_records] == ["reset", "step"]
    assert (Path(info["episode_dir"]) / "summary.json").is_file()


@pytest.mark.parametrize("info_type", INFO_TYPES)
def test_request_info_answers_each_type(make_env, info_type):
    env = make_env()
    env.reset()
    observation, reward, terminated, truncated, info = env.step(_act("request_info", info_type=info_type))
    assert observation["status"] == "ok" and reward == 0.0 and not terminated and not truncated
    expected = {
        "overview": "Tiny binary task",
        "data_structure": "/data/train.csv",
        "sample_submission": "exactly the columns ['id', 'target']",
        "metric": "Area under the ROC curve",
        "leaderboard": "hist-gb-lr0.1",
        "all": "Position score",
    }[info_type]
    assert expected in observation["text"]
    facts = info["task_info"]
    assert facts["metric"] == {"name": "roc_auc", "params": {}, "prediction": "probability", "higher_is_better": True}
    assert facts["files"]["train"] == "/data/train.csv"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("not json at all", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (_act("train_model"), "'action' must be one of"),
        (_act("request_info"), "needs params ['info_type']"),
        (_act("request_info", info_type="secrets"), "info_type must be one of"),
        (_act("execute_code", code="   "), "non-empty string"),
        (_act("get_history", verbose=True), "does not take params ['verbose']"),
        (_act("submit", step="best"), "positive integer"),
        ({"action": "submit", "params": {}, "why": "done"}, "unknown top-level keys ['why']"),
    ],
)
def test_malformed_actions_explain_the_format_and_cost_a_step(make_env, action, message):
    env = make_env()
    env.reset()
    observation, reward, terminated, truncated, _ = env.step(action)
    assert observation["status"] == "invalid_action" and observation["error_type"] == "invalid_action"
    assert message in observation["text"]
    for name in ACTION_NAMES:
        assert name in observation["text"]
    assert observation["steps_left"] == 19 and reward == 0.0 and not terminated and not truncated


@needs_bwrap
def test_execute_code_scores_on_the_public_board_with_a_position(make_env, home):
    env = make_env()
    env.reset()
    observation, reward, *_, info = env.step(_act("execute_code", code=GOOD_BINARY))
    assert observation["status"] == "ok", observation["text"]
    assert observation["score"] > 0.9 and observation["best_score"] == observation["score"]
    public_scores = [BOARD_SCORES["binary"][entry] for entry in BOARD_SCORES["binary"]]
    assert observation["position_score"] == position_score(observation["score"], public_scores, True)
    assert reward == observation["position_score"]
    assert "Public score (roc_auc" in observation["text"] and "wrote 160" in observation["stdout"]
    assert info["submission_valid"] and (env.unwrapped.episode_dir / info["submission"]).is_file()
    again, *_ = env.step(_act("execute_code", code="print('no new submission')\n"))
    assert again["score"] is None and "not rewritten" in again["text"] and again["best_score"] == observation["score"]


@needs_bwrap
def test_validate_code_checks_the_submission_without_scoring_it(make_env):
    env = make_env()
    env.reset()
    good, reward, *_ = env.step(_act("validate_code", code=SAMPLE_COPY))
    assert good["status"] == "ok" and good["score"] is None and reward == 0.0
    assert "well-formed" in good["text"]
    missing, *_ = env.step(_act("validate_code", code="print('nothing written')\n"))
    assert missing["error_type"] == "no_submission"
    bad, *_ = env.step(_act("validate_code", code=WRONG_COLUMNS))
    assert bad["error_type"] == "invalid_submission" and "missing columns ['id', 'target']" in bad["text"]


@needs_bwrap
def test_failing_code_reports_the_exception_and_its_likely_cause(make_env):
    env = make_env()
    env.reset()
    crashed, reward, *_ = env.step(_act("execute_code", code="import xgboost\n"))
    assert crashed["status"] == "error" and crashed["error_type"] == "ModuleNotFoundError" and reward == 0.0
    assert "not installed in the sandbox" in crashed["text"] and "sklearn" in crashed["text"]
    assert "No module named 'xgboost'" in crashed["stderr"]
    syntax, *_ = env.step(_act("execute_code", code="def broken(:\n"))
    assert syntax["error_type"] == "SyntaxError" and "Fix the Python syntax" in syntax["text"]
    missing_file, *_ = env.step(_act("execute_code", code="open('train.csv')\n"))
    assert missing_file["error_type"] == "FileNotFoundError" and "under /data" in missing_file["text"]
    invalid, *_ = env.step(_act("execute_code", code=WRONG_COLUMNS))
    assert invalid["error_type"] == "invalid_submission" and invalid["score"] is None


@needs_bwrap
def test_a_symlinked_submission_is_rejected_without_reading_its_target(make_env, home):
    env = make_env()
    env.reset()
    answers = next((home / "tasks" / "tiny-binary").glob("*/private/answers.parquet"))
    observation, *_ = env.step(
        _act("execute_code", code=f"import os\nos.symlink({str(answers)!r}, 'submission.csv')\n")
    )
    assert observation["error_type"] == "invalid_submission"
    assert "regular file" in observation["text"]


@needs_bwrap
def test_long_output_is_capped_in_the_observation(make_env):
    env = make_env(output_chars=2000)
    env.reset()
    observation, *_ = env.step(_act("execute_code", code="print('x' * 50000)\nprint('THE END')\n"))
    assert "bytes cut" in observation["stdout"] and observation["stdout"].rstrip().endswith("THE END")
    assert len(observation["stdout"]) < 2300


@needs_bwrap
def test_get_history_and_submit_end_the_episode_with_a_private_score(make_env):
    env = make_env()
    env.reset()
    nothing, *_, still_running, _, _ = env.step(_act("submit"))
    assert nothing["error_type"] == "nothing_to_submit" and not still_running
    env.step(_act("execute_code", code=SAMPLE_COPY))
    env.step(_act("execute_code", code=GOOD_BINARY))
    history, *_ = env.step(_act("get_history"))
    assert "step 2: execute_code -> ok, score 0.5" in history["text"]
    assert "Best public score" in history["text"] and "(step 3)" in history["text"]
    wrong_step, *_ = env.step(_act("submit", step=1))
    assert wrong_step["error_type"] == "nothing_to_submit" and "steps with one: 2, 3" in wrong_step["text"]
    final, reward, terminated, truncated, info = env.step(_act("submit"))
    assert final["status"] == "submitted" and terminated and not truncated
    assert info["private"]["board"] == "private" and final["score"] == info["private"]["score"] > 0.9
    assert reward == info["private"]["position_score"]
    assert info["final"]["final_step"] == 3 and info["final"]["private_score"] == final["score"]
    summary = json.loads((env.unwrapped.episode_dir / "summary.json").read_text())
    assert summary["private_score"] == final["score"] and summary["terminated"]
    over, reward, terminated, *_ = env.step(_act("get_history"))
    assert over["status"] == "episode_over" and reward == 0.0 and terminated


@needs_bwrap
def test_submit_of_an_earlier_step(make_env):
    env = make_env()
    env.reset()
    env.step(_act("execute_code", code=GOOD_BINARY))
    env.step(_act("execute_code", code=SAMPLE_COPY))
    final, _, terminated, _, info = env.step(_act("submit", step=2))
    assert terminated and "step 2" in final["text"] and info["private"]["score"] == 0.5


@needs_bwrap
def test_running_out_of_steps_truncates_and_grades_the_best_submission(make_env):
    env = make_env(max_steps=2)
    env.reset()
    _, _, terminated, truncated, _ = env.step(_act("execute_code", code=GOOD_BINARY))
    assert not terminated and not truncated
    last, _, terminated, truncated, info = env.step(_act("get_history"))
    assert truncated and not terminated
    assert "The episode is over (no steps left)" in last["text"]
    assert info["final"]["private_score"] == info["private"]["score"] and info["final"]["truncated"]


@needs_bwrap
def test_running_out_of_execution_time_truncates(make_env):
    env = make_env(time_budget_s=1.5)
    env.reset()
    observation, _, terminated, truncated, _ = env.step(_act("execute_code", code="import time\ntime.sleep(10)\n"))
    assert observation["error_type"] == "timeout" and truncated and not terminated
    assert observation["time_left_s"] == 0.0
    assert "no execution time" in observation["text"] and "no valid submission" in observation["text"]


@needs_bwrap
def test_reward_modes(make_env):
    raw = make_env("tiny-regression", reward_mode="raw")
    raw.reset()
    observation, reward, *_ = raw.step(_act("execute_code", code=GOOD_REGRESSION))
    assert observation["score"] > 0 and reward == -observation["score"]  # rmse: lower is better
    _, reward, *_ = raw.step(_act("execute_code", code=GOOD_REGRESSION))
    assert reward == 0.0  # only a rise of the best score pays
    _, reward, _, _, info = raw.step(_act("submit"))
    assert reward == -info["private"]["score"]

    delta = make_env(reward_mode="delta")
    delta.reset()
    rewards = []
    for code in (SAMPLE_COPY, GOOD_BINARY, SAMPLE_COPY):
        _, reward, *_ = delta.step(_act("execute_code", code=code))
        rewards.append(reward)
    _, reward, _, _, info = delta.step(_act("submit"))
    rewards.append(reward)
    assert rewards[2] == 0.0 and rewards[3] == 0.0 and rewards[1] > 0
    assert sum(rewards) == pytest.approx(info["final"]["best_public_position"])

    position = make_env(reward_mode="position")
    position.reset()
    first, reward, *_ = position.step(_act("execute_code", code=SAMPLE_COPY))
    assert reward == first["position_score"] == 0.25  # 0.5 ties the dummy, the last of four entries
    _, reward, *_ = position.step(_act("request_info", info_type="metric"))
    assert reward == 0.0
    _, reward, *_ = position.step(_act("execute_code", code=SAMPLE_COPY))
    assert reward == 0.0  # the same result again does not raise the best position
    better, reward, *_ = position.step(_act("execute_code", code=GOOD_BINARY))
    assert reward == pytest.approx(better["position_score"] - 0.25)
    _, reward, _, _, info = position.step(_act("submit"))
    assert reward == info["private"]["position_score"]
    assert info["final"]["reward_total"] == pytest.approx(better["position_score"] + reward)


def test_without_bubblewrap_code_actions_explain_how_to_install_it(home, tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox_module, "bubblewrap_problem", lambda: "`bwrap` is not on PATH")
    env = dojo.make("tiny-binary", home=home, out_dir=tmp_path / "nobwrap")
    observation, _ = env.reset()
    assert "apt-get install bubblewrap" in observation["text"]
    result, *_ = env.step(_act("execute_code", code=GOOD_BINARY))
    assert result["error_type"] == "sandbox_unavailable" and "allow_unsandboxed=True" in result["text"]
    env.close()
    trusted = dojo.make("tiny-binary", home=home, out_dir=tmp_path / "trusted", allow_unsandboxed=True)
    trusted.reset()
    scored, *_ = trusted.step(_act("execute_code", code=GOOD_BINARY))
    assert scored["status"] == "ok" and scored["score"] > 0.9 and "without a sandbox" in scored["text"]
    trusted.close()


def test_unknown_task_and_bad_options_are_clear_errors(home, tmp_path):
    with pytest.raises(TaskNotFound, match="tiny-binary, tiny-multiclass"):
        dojo.make("no-such-task", home=home)
    with pytest.raises(ValueError, match="reward_mode"):
        dojo.make("tiny-binary", home=home, reward_mode="score", out_dir=tmp_path / "x")
    env = dojo.make("tiny-binary", home=home, out_dir=tmp_path / "y")
    with pytest.raises(gym.error.ResetNeeded):
        env.step(_act("get_history"))
    with pytest.raises(ValueError, match="no options"):
        env.reset(options={"max_steps": 3})
    env.close()


@needs_bwrap
def test_attacks_through_the_env_are_stopped_reported_and_the_env_keeps_working(make_env, home, monkeypatch):
    monkeypatch.setenv("KAGGLE_KEY", "kaggle-secret-value")
    answers = next((home / "tasks" / "tiny-binary").glob("*/private/answers.parquet"))
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    env = make_env(exec_timeout_s=3.0, memory_mb=1024)
    env.reset()

    def run(code: str) -> dict:
        observation, *_ = env.step(_act("execute_code", code=code))
        return observation

    read = run(f"print(open({str(answers)!r}, 'rb').read())\n")
    assert read["error_type"] == "FileNotFoundError"
    connect = run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n")
    assert connect["error_type"] in ("ConnectionRefusedError", "OSError") and "no network" in connect["text"]
    secrets = run("import os\nprint(os.environ.get('KAGGLE_KEY'), os.environ.get('DOJO_HOME'))\n")
    assert secrets["stdout"] == "None None\n"
    outside = run(f"open({str(home / 'planted.txt')!r}, 'w')\n")
    assert outside["status"] == "error" and not (home / "planted.txt").exists()
    memory = run("block = bytearray(3 * 1024 ** 3)\n")
    assert memory["error_type"] == "memory_limit" and "1024 MB" in memory["text"]
    sleeper = run("import subprocess, time\nsubprocess.Popen(['sleep', '600'])\ntime.sleep(600)\n")
    assert sleeper["error_type"] == "timeout" and "stopped after 3 s" in sleeper["text"]
    server.close()
    scored = run(GOOD_BINARY)
    assert scored["status"] == "ok" and scored["score"] > 0.9


def test_gymnasium_make_finds_tasks_through_the_dojo_module(home):
    script = (
        "import gymnasium as gym\n"
        "env = gym.make('dojo:mle-dojo/tiny-regression-v0', out_dir=__import__('tempfile').mkdtemp())\n"
        "observation, info = env.reset(seed=1)\n"
        "print(info['task'], observation['status'])\n"
        "env.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "DOJO_HOME": str(home)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tiny-regression ok"
