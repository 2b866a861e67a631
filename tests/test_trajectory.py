"""Trajectories: what every step writes, reading it back, and the SFT and RL exports (library and CLI)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
from task_fixtures import SAMPLE_COPY, fast_solution, make_task

import dojo
from dojo import cli
from dojo.actions import SYSTEM_PROMPT
from dojo.export import export_run, rl_transitions, sft_example
from dojo.sandbox import bubblewrap_problem
from dojo.trajectory import TRAJECTORY_FILE, TrajectoryError, TrajectoryWriter, find_episodes, load_episode

needs_bwrap = pytest.mark.skipif(
    bubblewrap_problem() is not None, reason=f"bubblewrap unusable: {bubblewrap_problem()}"
)

ACTIONS = [
    {"action": "request_info", "params": {"info_type": "overview"}},
    "this is not an action",
    {"action": "execute_code", "params": {"code": SAMPLE_COPY}},
    {"action": "execute_code", "params": {"code": fast_solution("binary")}},
    {"action": "submit", "params": {}},
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """Two episodes of one env: a full one ending in submit, and a short one cut by the step budget."""
    if bubblewrap_problem() is not None:
        pytest.skip(f"bubblewrap unusable: {bubblewrap_problem()}")
    home = tmp_path_factory.mktemp("trajectory-home")
    make_task(home, "binary")
    out = tmp_path_factory.mktemp("trajectory-run")
    env = dojo.make("tiny-binary", home=home, out_dir=out, max_steps=5)
    env.reset(seed=7)
    for number, action in enumerate(ACTIONS, start=1):
        if number == 4:
            env.unwrapped.annotate_next_step({"model": "m", "raw_reply": "I will fit the rule.", "prompt_tokens": 9})
        env.step(action)
    env.reset(seed=8)
    env.step({"action": "get_history", "params": {}})
    env.close()
    return out


def test_every_step_is_recorded_with_action_observation_reward_timings_and_scores(run_dir):
    episodes = find_episodes(run_dir)
    assert [path.name for path in episodes] == ["episode-001", "episode-002"]
    episode = load_episode(episodes[0])
    assert episode.reset["seed"] == 7 and episode.reset["observation"]["action"] == "reset"
    assert [step["step"] for step in episode.steps] == [1, 2, 3, 4, 5]
    request, invalid, dummy, good, submit = episode.steps
    assert request["action"] == ACTIONS[0] and request["observation"]["status"] == "ok"
    assert invalid["action"] is None and invalid["raw_action"] == "this is not an action"
    assert invalid["observation"]["error_type"] == "invalid_action"
    assert good["action"]["params"]["code"] == fast_solution("binary")
    assert good["code_file"] == "code/step_004.py"
    assert (episodes[0] / good["code_file"]).read_text() == fast_solution("binary")
    assert good["submission"] == "submissions/step_004.csv" and (episodes[0] / good["submission"]).is_file()
    assert good["scores"]["public"] == good["observation"]["score"] > dummy["scores"]["public"] == 0.5
    # "position" pays the rise of the best public position: the dummy's, then the good run's on top of it.
    assert dummy["reward"] == dummy["scores"]["public_position"]
    assert good["reward"] == pytest.approx(good["scores"]["public_position"] - dummy["scores"]["public_position"])
    assert good["timings"]["exec_s"] > 0 and good["timings"]["step_s"] >= good["timings"]["exec_s"]
    assert good["agent"]["raw_reply"] == "I will fit the rule." and dummy["agent"] is None
    assert submit["terminated"] and submit["scores"]["private"] == episode.summary["private_score"]
    assert submit["submission"] == "submissions/step_004.csv"
    assert {r["schema"] for r in [episode.reset, *episode.steps]} == {1}
    assert {r["task"] for r in episode.steps} == {"tiny-binary"}


def test_an_unfinished_episode_still_gets_a_summary(run_dir):
    episode = load_episode(run_dir / "episode-002")
    assert len(episode.steps) == 1
    assert episode.summary is not None
    assert episode.summary["terminated"] is False and episode.summary["private_score"] is None


def test_sft_export_is_a_chat_transcript_ending_on_the_assistant(run_dir):
    example = sft_example(load_episode(run_dir / "episode-001"))
    messages = example["messages"]
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert messages[1]["role"] == "user" and "Tiny binary task" in messages[1]["content"]
    roles = [m["role"] for m in messages[2:]]
    assert roles == ["assistant", "user"] * 4 + ["assistant"]
    assert json.loads(messages[2]["content"]) == ACTIONS[0]
    assert messages[4]["content"] == "this is not an action"
    assert messages[8]["content"] == "I will fit the rule."  # the model's own words, not the parsed action
    assert "Invalid action" in messages[5]["content"]
    assert example["metadata"]["private_score"] > 0.9 and example["metadata"]["steps"] == 5


def test_rl_export_chains_observations_and_marks_the_end(run_dir):
    episode = load_episode(run_dir / "episode-001")
    transitions = list(rl_transitions(episode))
    assert len(transitions) == 5
    assert transitions[0]["obs"] == episode.reset["observation"]["text"]
    for before, after in itertools.pairwise(transitions):
        assert after["obs"] == before["next_obs"]
    assert [t["done"] for t in transitions] == [False, False, False, False, True]
    assert [t["reward"] for t in transitions] == [step["reward"] for step in episode.steps]
    assert transitions[-1]["terminated"] and not transitions[-1]["truncated"]


def test_export_commands_write_one_line_per_episode_or_transition(run_dir, tmp_path, capsys):
    assert cli.main(["export", "sft", str(run_dir), str(tmp_path / "sft.jsonl")]) == 0
    assert cli.main(["export", "rl", str(run_dir), str(tmp_path / "rl.jsonl")]) == 0
    assert "wrote 6 rl records" in capsys.readouterr().out
    sft = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    rl = [json.loads(line) for line in (tmp_path / "rl.jsonl").read_text().splitlines()]
    assert len(sft) == 2 and len(rl) == 5 + 1
    assert export_run("rl", run_dir / "episode-002", tmp_path / "one.jsonl") == 1


def test_export_of_a_dir_without_trajectories_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["export", "sft", str(tmp_path), str(tmp_path / "out.jsonl")]) == 2
    assert "no trajectory.jsonl" in capsys.readouterr().err
    assert cli.main(["export", "rl", str(tmp_path / "missing"), str(tmp_path / "out.jsonl")]) == 2
    with pytest.raises(ValueError, match="export kind"):
        export_run("dpo", tmp_path, tmp_path / "x.jsonl")


def test_writer_round_trip_and_bad_lines(tmp_path):
    writer = TrajectoryWriter(tmp_path / "ep" / TRAJECTORY_FILE, episode="ep", task="t")
    writer.write("reset", {"observation": {"text": "hi", "score": math.nan}})
    writer.write("step", {"step": 1, "observation": {"text": "ok"}, "reward": math.inf})
    writer.close()
    episode = load_episode(tmp_path / "ep")
    assert episode.reset["observation"]["score"] is None and episode.steps[0]["reward"] is None
    with pytest.raises(TrajectoryError, match="writer is closed"):
        writer.write("step", {})
    with open(tmp_path / "ep" / TRAJECTORY_FILE, "a") as handle:
        handle.write("{not json\n")
    with pytest.raises(TrajectoryError, match=r"trajectory.jsonl:3: not JSON"):
        load_episode(tmp_path / "ep")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / TRAJECTORY_FILE).write_text('{"type": "step"}\n')
    with pytest.raises(TrajectoryError, match="first record must be the reset"):
        load_episode(tmp_path / "bad")
