"""Agents: the scripted baseline end to end, and the OpenAI-compatible agent against a fake server on 127.0.0.1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fake_openai import serve
from task_fixtures import fast_solution, make_task

import dojo
from curation.layout import Home
from dojo import cli
from dojo.actions import ActionError
from dojo.agents import make_agent
from dojo.agents.baseline import FALLBACK_CODE, BaselineAgent, model_plan
from dojo.agents.openai_agent import REPAIR_PROMPT, AgentError, OpenAIAgent, extract_action
from dojo.evaluate import evaluate
from dojo.runner import run_episode
from dojo.sandbox import bubblewrap_problem
from dojo.trajectory import load_episode

needs_bwrap = pytest.mark.skipif(
    bubblewrap_problem() is not None, reason=f"bubblewrap unusable: {bubblewrap_problem()}"
)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("agents-home")
    for kind in ("binary", "multiclass", "regression"):
        make_task(root, kind)
    return root


# ---- the action parser of the LLM agent --------------------------------------------------------------------


def test_extract_action_reads_bare_fenced_and_embedded_json():
    assert extract_action('{"action": "get_history", "params": {}}') == {"action": "get_history", "params": {}}
    fenced = 'I will look first.\n```json\n{"action": "request_info", "params": {"info_type": "metric"}}\n```'
    assert extract_action(fenced)["params"] == {"info_type": "metric"}
    embedded = 'Sure: {"action": "submit", "params": {"step": 3}} -- done'
    assert extract_action(embedded) == {"action": "submit", "params": {"step": 3}}


def test_extract_action_takes_code_from_a_python_fence_or_raw_newlines():
    reply = '{"action": "execute_code", "params": {}}\n```python\nprint("hi")\n```'
    assert extract_action(reply)["params"]["code"] == 'print("hi")\n'
    raw_newlines = '{"action": "validate_code", "params": {"code": "import os\nprint(1)"}}'
    assert extract_action(raw_newlines)["params"]["code"] == "import os\nprint(1)"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I think we should train a model.", "no JSON object"),
        ('{"action": "fit", "params": {}}', "'action' must be one of"),
        ('{"action": "execute_code", "params": {}}', "needs params ['code']"),
    ],
)
def test_extract_action_rejects_what_the_env_would_reject(reply, message):
    with pytest.raises(ActionError, match=re.escape(message)):
        extract_action(reply)


# ---- the OpenAI-compatible agent -------------------------------------------------------------------------


def _openai_env(home: Path, tmp_path: Path, **options):
    return dojo.make("tiny-binary", home=home, out_dir=tmp_path / "openai-run", **options)


@needs_bwrap
def test_openai_agent_repairs_an_unparseable_reply_and_logs_tokens_and_cost(home, tmp_path):
    code_reply = (
        "Now a model.\n```json\n"
        + json.dumps({"action": "execute_code", "params": {}})
        + "\n```\n```python\n"
        + fast_solution("binary")
        + "```"
    )
    replies = [
        "Let me think about the data first.",
        '{"action": "request_info", "params": {"info_type": "data_structure"}}',
        code_reply,
        '{"action": "submit", "params": {}}',
    ]
    with serve(replies) as fake:
        agent = OpenAIAgent(
            "fake-model",
            base_url=fake.base_url,
            api_key="test-key",
            price_input_per_mtok=1.0,
            price_output_per_mtok=2.0,
        )
        env = _openai_env(home, tmp_path)
        summary = run_episode(env, agent)
        env.close()
    assert summary["terminated"] and summary["steps"] == 3
    assert summary["private_score"] > 0.9
    assert len(fake.requests) == 4 and all(r["model"] == "fake-model" for r in fake.requests)
    repair = fake.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Let me think about the data first."}
    assert repair[-1]["content"].startswith(REPAIR_PROMPT.split("{error}")[0])
    assert "Files under /data" in fake.requests[2]["messages"][-1]["content"]  # the env's feedback reached the model
    episode = load_episode(Path(summary["trajectory"]).parent)
    metas = [step["agent"] for step in episode.steps]
    assert [m["repairs"] for m in metas] == [1, 0, 0]
    assert all(m["prompt_tokens"] > 0 and m["completion_tokens"] > 0 and m["model"] == "fake-model" for m in metas)
    first = metas[0]
    assert first["cost_usd"] == pytest.approx((first["prompt_tokens"] * 1.0 + first["completion_tokens"] * 2.0) / 1e6)
    assert metas[-1]["total_prompt_tokens"] == sum(m["prompt_tokens"] for m in metas)
    assert metas[1]["raw_reply"] == code_reply


@needs_bwrap
def test_openai_agent_sends_the_raw_reply_after_too_many_repairs(home, tmp_path):
    replies = ["no json here", "still no json", '{"action": "submit", "params": {}}']
    with serve(replies) as fake:
        agent = OpenAIAgent("fake-model", base_url=fake.base_url, api_key="k", max_repairs=1)
        env = _openai_env(home, tmp_path, max_steps=2)
        summary = run_episode(env, agent)
        env.close()
    episode = load_episode(Path(summary["trajectory"]).parent)
    first, second = episode.steps
    assert first["raw_action"] == "still no json" and first["observation"]["status"] == "invalid_action"
    assert first["agent"]["repairs"] == 2
    assert second["observation"]["error_type"] == "nothing_to_submit" and second["truncated"]
    assert "Invalid action" in fake.requests[2]["messages"][-1]["content"]


def test_openai_agent_needs_a_model_and_a_key(monkeypatch):
    monkeypatch.delenv("DOJO_OPENAI_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AgentError, match="no model"):
        OpenAIAgent(api_key="k")
    with pytest.raises(AgentError, match="no API key"):
        OpenAIAgent("m")
    monkeypatch.setenv("DOJO_PRICE_INPUT_PER_MTOK", "cheap")
    with pytest.raises(AgentError, match="DOJO_PRICE_INPUT_PER_MTOK must be a number"):
        OpenAIAgent("m", api_key="k")


def test_openai_agent_reports_a_failing_endpoint(home, tmp_path):
    with serve([]) as fake:
        fake.status = 500
        agent = OpenAIAgent("fake-model", base_url=fake.base_url, api_key="k")
        env = _openai_env(home, tmp_path)
        with pytest.raises(AgentError, match="chat completion failed"):
            run_episode(env, agent)
        env.close()
    assert len(fake.requests) == 3  # the first try and the client's two retries


@needs_bwrap
def test_dojo_run_with_the_openai_agent(home, tmp_path, monkeypatch, capsys):
    replies = [
        json.dumps({"action": "execute_code", "params": {"code": fast_solution("binary")}}),
        '{"action": "submit", "params": {}}',
    ]
    monkeypatch.setenv("DOJO_HOME", str(home))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with serve(replies) as fake:
        arguments = ["run", "tiny-binary", "--agent", "openai", "--model", "fake-model", "--base-url", fake.base_url]
        code = cli.main([*arguments, "--out", str(tmp_path / "cli-run"), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["private_score"] > 0.9 and summary["steps"] == 2
    assert "step   1 execute_code" in captured.err and "submitted" in captured.err


def test_dojo_run_usage_errors(home, monkeypatch, capsys):
    monkeypatch.setenv("DOJO_HOME", str(home))
    assert cli.main(["run", "no-such-task"]) == 2
    assert "not built" in capsys.readouterr().err
    monkeypatch.delenv("DOJO_OPENAI_MODEL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    assert cli.main(["run", "tiny-binary", "--agent", "openai"]) == 2
    assert "no model" in capsys.readouterr().err


# ---- the baseline ---------------------------------------------------------------------------------------


def test_baseline_plans_by_task_type_and_falls_back_to_the_sample_submission():
    facts = {"task_type": "regression", "metric": {"prediction": "number"}}
    assert model_plan(facts) == ["linear", "gbm", "forest"]
    assert model_plan(facts | {"task_type": "text_classification"}) == ["linear", "linear_strong"]
    assert model_plan(facts | {"metric": {"prediction": "text"}}) == []
    agent = make_agent("baseline")
    assert isinstance(agent, BaselineAgent)
    failed = {"score": None, "steps_left": 10}
    agent.reset(failed, {})
    assert agent.act(failed, {})["params"] == {"info_type": "all"}
    actions = [agent.act(failed, {"task_info": facts | {"metric": {"prediction": "text"}}})]
    actions.append(agent.act(failed, {}))
    assert actions[0]["params"]["code"] == FALLBACK_CODE
    assert actions[1] == {"action": "submit", "params": {}}
    agent.reset(failed, {})
    agent.act(failed, {})
    first = agent.act(failed, {"task_info": facts})["params"]["code"]
    crashed = {"action": "execute_code", "error_type": "TypeError", "score": None, "steps_left": 8}
    retry = agent.act(crashed, {})["params"]["code"]
    assert "SAFE = False" in first and "SAFE = True" in retry and 'MODEL = "gbm"' in retry
    with pytest.raises(ValueError, match="takes no options"):
        make_agent("baseline", model="x")
    with pytest.raises(ValueError, match="unknown agent"):
        make_agent("random")


@needs_bwrap
def test_baseline_beats_the_dummy_on_each_fixture_task_type(home, tmp_path):
    table = evaluate(
        ["tiny-binary", "tiny-multiclass", "tiny-regression"],
        "baseline",
        out_dir=tmp_path / "evaluation",
        home=Home(home),
        jobs=2,
        env_options={"max_steps": 4},  # request_info, two executions, submit
    )
    assert table["status"].to_list() == ["ok", "ok", "ok"], table["error"].to_list()
    assert table["beats_dummy"].to_list() == [True, True, True]
    assert (tmp_path / "evaluation" / "results.parquet").is_file() and (
        tmp_path / "evaluation" / "results.csv"
    ).is_file()
    for row in table.iter_rows(named=True):
        assert Path(row["plot"]).read_bytes().startswith(b"\x89PNG")
        steps = load_episode(Path(row["trajectory"]).parent).steps
        names = [step["action"]["action"] for step in steps]
        assert names[0] == "request_info" and names[-1] == "submit"
        assert names.count("execute_code") >= 2
        scored = [step["scores"]["public"] for step in steps if step["scores"]["public"] is not None]
        assert len(scored) >= 2


@needs_bwrap
def test_dojo_evaluate_by_tag_writes_the_results_table(home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOJO_HOME", str(home))
    out = tmp_path / "by-tag"
    assert cli.main(["evaluate", "--tag", "regression", "--max-steps", "3", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [row["task"] for row in report["results"]] == ["tiny-regression"]
    assert report["results"][0]["beats_dummy"] is True
    assert (out / "results.csv").read_text().startswith("task,agent,status")
    assert (out / "plots" / "tiny-regression.png").is_file()
    assert cli.main(["evaluate", "--tag", "no-such-tag"]) == 2
    assert cli.main(["evaluate", "not-built"]) == 2
