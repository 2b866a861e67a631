"""The Gymnasium environment: one curated task, sandboxed code runs, graded feedback, every step logged."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from curation.layout import Home
from curation.secret import SECRET_FILE
from dojo.actions import ACTION_FORMAT, Action, ActionError, action_text, parse_action
from dojo.feedback import available_packages, diagnose
from dojo.sandbox import INSTALL_HINT, ExecResult, Limits, Sandbox
from dojo.spaces import ActionSpace, Number, UnicodeText
from dojo.task import ServedTask, resolve_task
from dojo.task_info import Paths, info_text, task_facts
from dojo.trajectory import SUMMARY_FILE, TRAJECTORY_FILE, TrajectoryWriter
from graders.grading import GradeResult
from graders.isolation import grade_isolated

REWARD_MODES = ("position", "raw", "delta")
TEXT_MAX_CHARS = 100_000
SUBMISSION_FILE = "submission.csv"


@dataclass
class _Submission:
    """A submission.csv a run produced, snapshotted under the episode dir."""

    step: int
    action: str
    path: Path
    valid: bool
    error: str | None
    public_score: float | None = None
    public_position: float | None = None


@dataclass
class _Outcome:
    """What handling one action produced, before rewards and budgets are added."""

    status: str
    text: str
    stdout: str = ""
    stderr: str = ""
    error_type: str | None = None
    score: float | None = None
    position: float | None = None
    submitted: bool = False
    exec_s: float = 0.0
    grade_s: float = 0.0
    code_file: str | None = None
    submission: _Submission | None = None
    private: GradeResult | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Episode:
    """The state of one episode."""

    directory: Path
    writer: TrajectoryWriter
    sandbox: Sandbox
    steps: int = 0
    used_s: float = 0.0
    submissions: list[_Submission] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    best: _Submission | None = None
    final: dict[str, Any] | None = None
    private: GradeResult | None = None
    final_step: int | None = None
    terminated: bool = False
    truncated: bool = False
    reward_total: float = 0.0
    best_position: float = 0.0  # highest public position so far: what "position" and "delta" pay the rise of
    best_signed: float | None = None  # highest sign-adjusted public score so far: what "raw" pays the rise of


class DojoEnv(gym.Env[dict[str, Any], str]):
    """A Gymnasium environment serving one curated task to an agent that writes and runs code.

    Contract:
    - Construction resolves the task (the CURRENT build under `home`, or the version `release` pins) and
      raises TaskNotFound if there is none; nothing else happens until `reset`.
    - Output: with `out_dir`, every episode is kept as `<out_dir>/episode-NNN/` (trajectory.jsonl,
      summary.json, code, logs, submissions). Without it, the env writes to a temporary dir that holds only
      the current episode (a reset deletes the previous one) and is deleted on `close` (or when the env is
      garbage-collected), so probing an env (e.g. Gymnasium's check_env) leaves nothing behind.
      `default_run_dir(home, slug)` gives a kept location under DOJO_HOME/runs.
    - `reset(seed=None, options=None)` starts an episode: a fresh, empty work dir (whatever the last
      episode's code left there, however deep, is removed), a new episode dir with `trajectory.jsonl`, the
      step and time budgets refilled. It returns (observation, info); info has `task`, `task_version`,
      `episode_dir`, `trajectory`, `sandboxed`. No reset options are defined; passing any raises ValueError.
    - `step(action)`: `action` is a dict `{"action": NAME, "params": {...}}` or its JSON string (see
      dojo.actions). Returns (observation, reward, terminated, truncated, info). Every call, valid or not,
      costs one step and is appended to the trajectory. `step` never raises for anything an agent sends:
      a malformed action of any type (not JSON, too long, nested too deep, numbers too long to read, lone
      surrogates, wrong types) gets status "invalid_action" and a short reason with the format; a host
      failure while handling it (a full disk while writing code, logs, the submission snapshot or the
      trajectory) gets status "error" with error_type "disk_full" (or "host_error"), and the episode goes on.
    - Observation (dict): `action` (name handled), `status` (ok | error | invalid_action | submitted |
      episode_over), `text` (complete feedback for an LLM), `stdout`/`stderr` of the run (capped, with a
      marker where cut), `error_type` (None, an exception name, a limit such as timeout or memory_limit,
      invalid_action, invalid_submission, no_submission, nothing_to_submit, sandbox_unavailable, disk_full,
      host_error), `score`
      (this step's public score, or the private score on submit), `best_score` (best public score so far),
      `position_score` (this step's leaderboard position), `steps_left`, `time_left_s`.
    - Budgets: `max_steps` steps; `time_budget_s` seconds of code execution and grading (the agent's own
      thinking time is not counted, so budgets compare across model speeds). Each run is also capped at
      `exec_timeout_s`. The episode is truncated when either budget is used up; it terminates on a
      successful `submit`. At truncation the best submission is still graded on the private board, so every
      episode ends with a final result in `info["final"]` and `summary.json`.
    - Rewards (`reward_mode`) pay improvement only, so repeating a step never earns more; every other step
      (info, history, validate_code, failed runs, truncation) pays 0:
      "position" (default): execute_code pays the rise of the best public position score so far (0 when it
      does not rise); a successful submit pays the private position score (submit ends the episode, so it
      pays once). An episode's return is its best public position + the private position of its submit.
      "delta": as "position" without the submit payment: the return is the best public position reached.
      "raw": execute_code pays the rise of the best sign-adjusted public score (the score, negated when lower
      is better; the first scored run pays its own signed score); a successful submit pays the signed
      private score. The return is the best signed public score + the signed private score of the submit.
    - Agent code never sees the private answers, DOJO_HOME or the host's network (see dojo.sandbox); without
      bubblewrap, code actions return error_type "sandbox_unavailable" with install instructions unless
      `allow_unsandboxed=True`.
    - `annotate_next_step(meta)` attaches agent data (tokens, cost, raw reply) to the next step's record.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012 - Gymnasium reads this class attribute

    def __init__(
        self,
        slug: str,
        *,
        home: str | os.PathLike[str] | None = None,
        release: str | None = None,
        max_steps: int = 20,
        time_budget_s: float = 3600.0,
        exec_timeout_s: float = 600.0,
        memory_mb: int = 4096,
        reward_mode: str = "position",
        out_dir: str | os.PathLike[str] | None = None,
        allow_unsandboxed: bool = False,
        render_mode: str | None = None,
        keep_work: bool = False,
        threads: int = 2,
        max_processes: int = 256,
        output_chars: int = 8000,
    ) -> None:
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
        if time_budget_s <= 0 or exec_timeout_s <= 0:
            raise ValueError("time_budget_s and exec_timeout_s must be positive")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        self.home = Home.from_env(home)
        self.slug = slug
        self.max_steps = max_steps
        self.time_budget_s = float(time_budget_s)
        self.reward_mode = reward_mode
        self.render_mode = render_mode
        self.allow_unsandboxed = allow_unsandboxed
        self.keep_work = keep_work
        self.limits = Limits(
            timeout_s=float(exec_timeout_s),
            memory_mb=memory_mb,
            threads=threads,
            max_processes=max_processes,
            output_chars=output_chars,
        )
        self.task: ServedTask = resolve_task(slug, self.home, release)
        self.temporary = out_dir is None
        if out_dir is None:
            out_dir = tempfile.mkdtemp(prefix=f"dojo-{slug}-")
            # Removed on close, or when the env is collected or the interpreter exits without a close.
            self._cleanup = weakref.finalize(self, remove_tree, Path(out_dir))
        self.out_dir = Path(out_dir).resolve()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.higher_is_better = bool(self.task.meta["higher_is_better"])
        self.action_space = ActionSpace()
        output_max = output_chars + 200  # room for the cut marker
        self.observation_space = spaces.Dict(
            {
                "action": UnicodeText(32),
                "status": UnicodeText(32),
                "text": UnicodeText(TEXT_MAX_CHARS),
                "stdout": UnicodeText(output_max),
                "stderr": UnicodeText(output_max),
                "error_type": UnicodeText(64, optional=True),
                "score": Number(optional=True),
                "best_score": Number(optional=True),
                "position_score": Number(0.0, 1.0, optional=True),
                "steps_left": Number(0, max_steps, integer=True),
                "time_left_s": Number(0.0, self.time_budget_s),
            }
        )
        self._episode: _Episode | None = None
        self._episodes = 0
        self._last_text = ""
        self._agent_meta: dict[str, Any] | None = None

    # ---- Gymnasium API -------------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"reset takes no options; got {sorted(options)}")
        previous = self._episode.directory if self._episode else None
        self._end_episode()
        if self.temporary and previous is not None:
            remove_tree(previous)  # a temporary run dir holds only the current episode
        work = self.out_dir / "work"
        remove_tree(work)  # first: it frees the space of whatever the last episode's code wrote
        self._episodes += 1
        directory = self.out_dir / f"episode-{self._episodes:03d}"
        while directory.exists():  # an out_dir reused by another env keeps its episodes
            self._episodes += 1
            directory = self.out_dir / f"episode-{self._episodes:03d}"
        directory.mkdir(parents=True)
        sandbox = Sandbox(
            self.task.public_dir,
            work,
            self.limits,
            # The salt keys every id and split hash: with it, the ids could be inverted.
            hidden=(
                self.home.root / "tasks",
                self.task.private_dir,
                self.home.root / "raw",
                self.home.root / SECRET_FILE,
            ),
            allow_unsandboxed=self.allow_unsandboxed,
        )
        writer = TrajectoryWriter(directory / TRAJECTORY_FILE, episode=directory.name, task=self.slug)
        self._episode = _Episode(directory, writer, sandbox)
        self._agent_meta = None
        observation = self._observation("reset", _Outcome("ok", self._welcome_text()))
        info = {
            "task": self.slug,
            "task_version": self.task.meta["task_version"],
            "episode_dir": str(directory),
            "trajectory": str(directory / TRAJECTORY_FILE),
            "sandboxed": sandbox.isolated,
        }
        writer.write("reset", {"seed": seed, "observation": observation, "info": info})
        return observation, info

    def step(self, action: str | dict[str, Any]) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        episode = self._episode
        if episode is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if episode.terminated or episode.truncated:
            outcome = _Outcome("episode_over", "The episode is over; call reset() to start a new one.")
            return self._observation("none", outcome), 0.0, episode.terminated, episode.truncated, {}
        started = time.perf_counter()
        episode.steps += 1
        raw_action = action_text(action)
        try:
            parsed: Action | None = parse_action(action)
        except ActionError as exc:
            parsed = None
            outcome = _Outcome(
                "invalid_action", f"Invalid action: {exc}.\n\n{ACTION_FORMAT}", error_type="invalid_action"
            )
        else:
            try:
                outcome = self._dispatch(parsed)
            except OSError as exc:
                outcome = _host_failure(exc, "this step")
        episode.used_s += outcome.exec_s + outcome.grade_s
        self._track_best(outcome)
        terminated = outcome.submitted
        truncated = not terminated and (episode.steps >= self.max_steps or self._time_left() <= 0)
        if truncated:
            try:
                self._grade_final_on_truncation(outcome)
            except OSError as exc:
                failure = _host_failure(exc, "the final grading")
                outcome.status, outcome.error_type = failure.status, failure.error_type
                outcome.text += "\n\n" + failure.text
        reward = self._reward(outcome)
        episode.reward_total += reward
        episode.terminated, episode.truncated = terminated, truncated
        name = parsed.name if parsed else "invalid"
        episode.history.append(self._history_entry(name, outcome))
        observation = self._observation(name, outcome)
        info = self._step_info(outcome)
        if terminated or truncated:
            info["final"] = self._finish()
        record: dict[str, Any] = {
            "step": episode.steps,
            "action": parsed.to_dict() if parsed else None,
            "raw_action": raw_action,
            "observation": observation,
            "reward": reward,
            "terminated": terminated,
            "truncated": truncated,
            "timings": {
                "step_s": round(time.perf_counter() - started, 6),
                "exec_s": round(outcome.exec_s, 6),
                "grade_s": round(outcome.grade_s, 6),
            },
            "code_file": outcome.code_file,
            "submission": self._relative(outcome.submission.path) if outcome.submission else None,
            "scores": self._scores(outcome),
            "agent": self._agent_meta,
        }
        try:
            episode.writer.write("step", record)
        except OSError as exc:
            failure = _host_failure(exc, "this step's trajectory record")
            observation.update(status=failure.status, error_type=failure.error_type)
            observation["text"] = (observation["text"] + "\n\n" + failure.text)[:TEXT_MAX_CHARS]
        self._agent_meta = None
        return observation, reward, terminated, truncated, info

    def render(self) -> str | None:
        return self._last_text if self.render_mode == "ansi" else None

    def close(self) -> None:
        self._end_episode()
        if self.temporary:
            self._cleanup()
        super().close()

    def annotate_next_step(self, meta: dict[str, Any]) -> None:
        """Attach agent data (model, tokens, cost, raw reply) to the trajectory record of the next step."""
        self._agent_meta = dict(meta)

    @property
    def episode_dir(self) -> Path | None:
        return self._episode.directory if self._episode else None

    # ---- actions ------------------------------------------------------------------------------------------

    def _dispatch(self, action: Action) -> _Outcome:
        if action.name == "request_info":
            kind = action.params["info_type"]
            outcome = _Outcome("ok", info_text(self.task, self._paths(), kind))
            outcome.info["task_info"] = task_facts(self.task, self._paths())
            return outcome
        if action.name == "get_history":
            return _Outcome("ok", self._history_text())
        if action.name == "submit":
            return self._submit(action.params.get("step"))
        return self._run_code(action.params["code"], scored=action.name == "execute_code")

    def _run_code(self, code: str, *, scored: bool) -> _Outcome:
        episode = self._require_episode()
        sandbox = episode.sandbox
        if not sandbox.available:
            return _Outcome(
                "error", f"Code cannot run: {INSTALL_HINT}\n({sandbox.problem})", error_type="sandbox_unavailable"
            )
        target = sandbox.work_dir / SUBMISSION_FILE
        before = _file_state(target)
        name = f"step_{episode.steps:03d}"
        code_file = episode.directory / "code" / f"{name}.py"
        result = sandbox.run(
            code, code_file=code_file, log_dir=episode.directory / "logs", timeout_s=max(1.0, self._time_left())
        )
        diagnosis = diagnose(result, self.limits, data_dir=sandbox.data_dir_seen, work_dir=sandbox.work_dir_seen)
        outcome = _Outcome(
            "error" if diagnosis.error_type else "ok",
            "",
            stdout=result.stdout,
            stderr=result.stderr,
            error_type=diagnosis.error_type,
            exec_s=result.duration_s,
            code_file=self._relative(code_file),
        )
        lines = [_run_headline("execute_code" if scored else "validate_code", result)]
        if diagnosis.error_type:
            lines.append(f"Error: {diagnosis.message}.")
            if diagnosis.cause:
                lines.append(f"Likely cause: {diagnosis.cause}")
        after = _file_state(target)
        if after is not None and after != before:
            lines += self._take_submission(target, name, scored, outcome)
        else:
            if after is not None:
                lines.append(f"{SUBMISSION_FILE} was not rewritten by this run, so it was not checked again.")
            else:
                lines.append(f"No {SUBMISSION_FILE} was written in {sandbox.work_dir_seen}.")
            if not scored and outcome.error_type is None:
                # validate_code exists to check a submission: a run that produced none failed at that.
                outcome.status, outcome.error_type = "error", "no_submission"
        lines += _output_sections(result)
        outcome.text = "\n".join(lines)
        return outcome

    def _take_submission(self, source: Path, name: str, scored: bool, outcome: _Outcome) -> list[str]:
        """Snapshot and check (and for execute_code, score) a submission the run wrote; feedback lines."""
        episode = self._require_episode()
        snapshot = episode.directory / "submissions" / f"{name}.csv"
        problem = _snapshot_regular_file(source, snapshot)
        started = time.perf_counter()
        grade = None if problem else grade_isolated(self.task.task_dir, snapshot, "public", **self._board())
        outcome.grade_s = time.perf_counter() - started
        error = problem or (grade.error if grade and not grade.valid else None)
        submission = _Submission(
            episode.steps, "execute_code" if scored else "validate_code", snapshot, error is None, error
        )
        outcome.submission = submission
        episode.submissions.append(submission)
        if error is not None:
            if outcome.error_type is None:
                outcome.status, outcome.error_type = "error", "invalid_submission"
            return [
                f"{SUBMISSION_FILE} is not a valid submission: {error}",
                "Fix it to match sample_submission.csv (request_info sample_submission shows the format).",
            ]
        if not scored:
            return [
                f"{SUBMISSION_FILE} is well-formed: it would be accepted for scoring (validate_code does not score)."
            ]
        assert grade is not None and grade.score is not None
        submission.public_score, submission.public_position = grade.score, grade.position_score
        outcome.score, outcome.position = grade.score, grade.position_score
        metric = self.task.meta["metric"]["name"]
        direction = "higher is better" if self.higher_is_better else "lower is better"
        lines = [f"Public score ({metric}, {direction}): {grade.score:.6g}."]
        if grade.position_score is not None:
            lines.append(f"Position on the public leaderboard: {grade.position_score:.3f} (1.0 = top of the board).")
        best = self._best_after(submission)
        if best is submission:
            lines.append("This is your best public score so far.")
        elif best is not None:
            lines.append(f"Your best public score so far is {best.public_score:.6g} (step {best.step}).")
        return lines

    def _submit(self, step: int | None) -> _Outcome:
        episode = self._require_episode()
        valid = [s for s in episode.submissions if s.valid]
        if step is not None:
            chosen = next((s for s in valid if s.step == step), None)
            if chosen is None:
                steps = ", ".join(str(s.step) for s in valid) or "none yet"
                return _Outcome(
                    "error",
                    f"Step {step} has no valid submission; steps with one: {steps}. Nothing was submitted.",
                    error_type="nothing_to_submit",
                )
        else:
            chosen = self._default_submission()
            if chosen is None:
                return _Outcome(
                    "error",
                    "There is no valid submission to submit yet: run execute_code with code that writes "
                    f"{SUBMISSION_FILE} first. Nothing was submitted.",
                    error_type="nothing_to_submit",
                )
        outcome = _Outcome("submitted", "", submitted=True)
        grade = self._grade_private(chosen, outcome)
        outcome.score, outcome.position = grade.score, grade.position_score
        outcome.text = "\n".join([f"Submitted the submission of step {chosen.step}.", *self._private_lines(grade)])
        if not grade.valid:
            outcome.error_type = "invalid_submission"
        return outcome

    def _private_lines(self, grade: GradeResult) -> list[str]:
        if not grade.valid:
            return [f"It could not be scored on the private board: {grade.error}"]
        lines = [f"Private score ({self.task.meta['metric']['name']}): {grade.score:.6g}."]
        if grade.position_score is not None:
            lines.append(f"Position on the private leaderboard: {grade.position_score:.3f}.")
        lines.append(f"Medal: {grade.medal}." if grade.medal else "No medal.")
        return lines

    def _grade_final_on_truncation(self, outcome: _Outcome) -> None:
        """When the budget runs out, grade the best submission on the private board as the episode's result."""
        chosen = self._default_submission()
        reason = "no steps" if self._require_episode().steps >= self.max_steps else "no execution time"
        if chosen is None:
            outcome.text += f"\n\nThe episode is over ({reason} left) and there was no valid submission."
            return
        grade = self._grade_private(chosen, outcome)
        final = [f"The episode is over ({reason} left); your submission of step {chosen.step} was graded:"]
        outcome.text += "\n\n" + "\n".join(final + self._private_lines(grade))

    def _default_submission(self) -> _Submission | None:
        """What submit picks without a step: the best public score, else the latest valid submission."""
        episode = self._require_episode()
        valid = [s for s in episode.submissions if s.valid]
        return episode.best or (valid[-1] if valid else None)

    def _grade_private(self, chosen: _Submission, outcome: _Outcome) -> GradeResult:
        """Grade `chosen` on the private board as the episode's final result, recorded in `outcome`."""
        episode = self._require_episode()
        started = time.perf_counter()
        grade = grade_isolated(self.task.task_dir, chosen.path, "private", **self._board())
        outcome.grade_s += time.perf_counter() - started
        outcome.private = grade
        if outcome.submission is None:
            outcome.submission = chosen
        episode.private, episode.final_step = grade, chosen.step
        return grade

    # ---- bookkeeping --------------------------------------------------------------------------------------

    def _track_best(self, outcome: _Outcome) -> None:
        episode = self._require_episode()
        submission = outcome.submission
        if submission is None or outcome.submitted or submission.public_score is None:
            return
        if self._best_after(submission) is submission:
            episode.best = submission

    def _best_after(self, candidate: _Submission) -> _Submission | None:
        """The best publicly scored submission once `candidate` is counted (ties keep the earlier one)."""
        best = self._require_episode().best
        if best is None or best.public_score is None or candidate.public_score is None:
            return candidate if candidate.public_score is not None else best
        better = (
            candidate.public_score > best.public_score
            if self.higher_is_better
            else candidate.public_score < best.public_score
        )
        return candidate if better else best

    def _reward(self, outcome: _Outcome) -> float:
        """This step's reward: only an improvement pays (see the class contract), so repetition earns nothing."""
        episode = self._require_episode()
        score = outcome.score
        if score is None or not math.isfinite(score) or outcome.error_type == "invalid_submission":
            return 0.0
        if outcome.submitted:  # submit ends the episode, so this is paid at most once
            if self.reward_mode == "delta":
                return 0.0
            return float(outcome.position or 0.0) if self.reward_mode == "position" else self._signed(score)
        if self.reward_mode == "raw":
            signed = self._signed(score)
            before = episode.best_signed
            episode.best_signed = signed if before is None else max(before, signed)
            return signed if before is None else episode.best_signed - before
        position = float(outcome.position or 0.0)
        before_position = episode.best_position
        episode.best_position = max(before_position, position)
        return episode.best_position - before_position

    def _signed(self, score: float) -> float:
        """A score made higher-is-better."""
        return float(score if self.higher_is_better else -score)

    def _time_left(self) -> float:
        return max(0.0, self.time_budget_s - self._require_episode().used_s)

    def _history_entry(self, name: str, outcome: _Outcome) -> dict[str, Any]:
        return {
            "step": self._require_episode().steps,
            "action": name,
            "status": outcome.status,
            "error_type": outcome.error_type,
            "score": outcome.score,
            "position_score": outcome.position,
        }

    def _history_text(self) -> str:
        episode = self._require_episode()
        if not episode.history:
            return "No steps yet."
        metric = self.task.meta["metric"]["name"]
        lines = [f"Steps so far (scores are {metric} on the public board; submit uses the private board):"]
        for entry in episode.history:
            line = f"- step {entry['step']}: {entry['action']} -> {entry['status']}"
            if entry["error_type"]:
                line += f" ({entry['error_type']})"
            if entry["score"] is not None:
                line += f", score {entry['score']:.6g}"
            if entry["position_score"] is not None:
                line += f", position {entry['position_score']:.3f}"
            lines.append(line)
        if episode.best is not None:
            lines.append(f"Best public score: {episode.best.public_score:.6g} (step {episode.best.step}).")
        return "\n".join(lines)

    def _observation(self, action: str, outcome: _Outcome) -> dict[str, Any]:
        episode = self._episode
        steps_left = self.max_steps - episode.steps if episode else self.max_steps
        time_left = round(self._time_left(), 3) if episode else self.time_budget_s
        text = outcome.text
        if outcome.status != "episode_over" and action != "reset":
            text += f"\n\nBudget: {steps_left} steps and {time_left:,.0f} s of execution time left."
        if len(text) > TEXT_MAX_CHARS:
            text = text[: TEXT_MAX_CHARS - 40] + "\n[... feedback cut at its size limit ...]"
        self._last_text = text
        best = episode.best.public_score if episode and episode.best else None
        return {
            "action": action,
            "status": outcome.status,
            "text": text,
            "stdout": outcome.stdout,
            "stderr": outcome.stderr,
            "error_type": outcome.error_type,
            "score": outcome.score,
            "best_score": best,
            "position_score": outcome.position,
            "steps_left": steps_left,
            "time_left_s": time_left,
        }

    def _step_info(self, outcome: _Outcome) -> dict[str, Any]:
        episode = self._require_episode()
        info: dict[str, Any] = {"step": episode.steps, **outcome.info}
        if outcome.code_file is not None:
            info["exec_s"] = outcome.exec_s
            info["code_file"] = outcome.code_file
        if outcome.submission is not None:
            info["submission"] = self._relative(outcome.submission.path)
            info["submission_valid"] = outcome.submission.valid
        if outcome.private is not None:
            info["private"] = outcome.private.to_json()
        return info

    def _scores(self, outcome: _Outcome) -> dict[str, Any]:
        submission = outcome.submission
        scored_publicly = submission is not None and submission.step == self._require_episode().steps
        private = outcome.private
        return {
            "public": submission.public_score if scored_publicly and submission else None,
            "public_position": submission.public_position if scored_publicly and submission else None,
            "private": private.score if private else None,
            "private_position": private.position_score if private else None,
            "medal": private.medal if private else None,
        }

    def _finish(self) -> dict[str, Any]:
        """Write summary.json for the ending episode and drop its work dir unless kept; return the summary."""
        episode = self._require_episode()
        private = episode.private
        summary = {
            "task": self.slug,
            "task_version": self.task.meta["task_version"],
            "release": self.task.release,
            "episode": episode.directory.name,
            "metric": self.task.meta["metric"]["name"],
            "higher_is_better": self.higher_is_better,
            "steps": episode.steps,
            "terminated": episode.terminated,
            "truncated": episode.truncated,
            "exec_time_s": round(episode.used_s, 3),
            "best_public_score": episode.best.public_score if episode.best else None,
            "best_public_position": episode.best.public_position if episode.best else None,
            "best_step": episode.best.step if episode.best else None,
            "final_step": episode.final_step,
            "private_score": private.score if private else None,
            "private_position": private.position_score if private else None,
            "medal": private.medal if private else None,
            "reward_total": episode.reward_total,
            "trajectory": str(episode.directory / TRAJECTORY_FILE),
        }
        with contextlib.suppress(OSError):  # a full disk loses the file, not the summary returned in info
            (episode.directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        episode.final = summary
        if not self.keep_work:
            with contextlib.suppress(OSError):  # the next reset tries again
                remove_tree(self.out_dir / "work")
        return summary

    def _end_episode(self) -> None:
        """Close the current episode's trajectory (writing its summary if it never ended)."""
        episode = self._episode
        if episode is None:
            return
        if episode.final is None:
            self._finish()
        episode.writer.close()
        self._episode = None

    def _welcome_text(self) -> str:
        episode = self._require_episode()
        sandbox = episode.sandbox
        paths = self._paths()
        lines = [
            info_text(self.task, paths, "overview"),
            "",
            "## How to work",
            ACTION_FORMAT,
            "",
            f"Your code runs as `python main.py` with Python 3 and {', '.join(available_packages())}; "
            f"each run is a fresh process with {paths.work_dir} as the current directory (files there persist "
            f"between runs), {paths.data_dir} read-only, no network, and limits per run of "
            f"{self.limits.timeout_s:g} s, {self.limits.memory_mb} MB of memory and {self.limits.threads} threads.",
            f"Budget: {self.max_steps} steps and {self.time_budget_s:,.0f} s of execution time.",
        ]
        if not sandbox.available:
            lines.append(f"Warning: code cannot run here. {INSTALL_HINT}")
        elif not sandbox.isolated:
            lines.append("Note: code runs without a sandbox here (allow_unsandboxed=True); paths are the host's.")
        return "\n".join(lines)

    def _paths(self) -> Paths:
        sandbox = self._require_episode().sandbox
        return Paths(data_dir=sandbox.data_dir_seen, work_dir=sandbox.work_dir_seen)

    def _board(self) -> dict[str, Path]:
        return {"leaderboard_dir": self.task.leaderboard_dir}

    def _relative(self, path: Path) -> str:
        return path.relative_to(self._require_episode().directory).as_posix()

    def _require_episode(self) -> _Episode:
        if self._episode is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        return self._episode


def default_run_dir(home: Home, slug: str) -> Path:
    """A new, kept run dir for `slug` under DOJO_HOME/runs (what `dojo run` uses without --out)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return home.root / "runs" / slug / f"{stamp}-{uuid.uuid4().hex[:6]}"


def remove_tree(path: Path) -> None:
    """Delete `path` and all under it, however deep or locked down agent code made it; a missing path is fine.

    shutil.rmtree recurses (a 3,000-deep tree exhausts Python's stack, and its paths pass PATH_MAX) and fails
    on dirs their owner made unreadable, so GNU rm (which walks any depth) does it, after a chmod that gives
    the owner access back if the first try fails. Raises OSError when the tree cannot be removed.
    """
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    problem = ""
    for _ in range(2):
        done = subprocess.run(["rm", "-rf", "--", str(path)], capture_output=True, text=True, check=False)
        if not os.path.lexists(path):
            return
        problem = done.stderr.strip()[:300]
        # The owner of a dir it made 000 may still chmod it back (chmod -R does not follow symlinks).
        subprocess.run(["chmod", "-R", "u+rwx", "--", str(path)], capture_output=True, check=False)
    raise OSError(errno.ENOTEMPTY, f"could not remove {path}: {problem}")


def _host_failure(exc: OSError, what: str) -> _Outcome:
    """An error outcome for a failure on the host (a full disk above all) while handling `what`."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _Outcome(
            "error",
            f"The disk is full (no space left on device), so {what} could not be written and did not complete. "
            "Delete large files your code wrote in the working directory, then go on.",
            error_type="disk_full",
        )
    reason = exc.strerror or type(exc).__name__  # not str(exc): it may name host paths
    return _Outcome("error", f"A host error stopped {what}: {reason}.", error_type="host_error")


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """(mtime_ns, size, inode) of a path without following links, or None if absent or out of reach."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:  # e.g. agent code made the work dir unsearchable for an unprivileged host
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


def _snapshot_regular_file(source: Path, target: Path) -> str | None:
    """Copy `source` to `target` if it is a regular file; never follow a link agent code may have planted."""
    try:
        info = os.stat(source, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            return f"{SUBMISSION_FILE} must be a regular file, not a link or directory"
        descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    except PermissionError:
        return f"{SUBMISSION_FILE} cannot be read: its permissions (or its directory's) deny it"
    target.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(descriptor, "rb") as reader, open(target, "wb") as writer:
        shutil.copyfileobj(reader, writer)
    return None


def _output_sections(result: ExecResult) -> list[str]:
    lines = []
    for name, text, cut in (
        ("stdout", result.stdout, result.stdout_truncated),
        ("stderr", result.stderr, result.stderr_truncated),
    ):
        if text.strip():
            lines += ["", f"--- {name}{' (cut in the middle)' if cut else ''} ---", text.rstrip()]
    return lines


def _run_headline(name: str, result: ExecResult) -> str:
    """One line on how a run ended."""
    where = "in the sandbox" if result.sandboxed else "without a sandbox"
    return f"{name} ran {where} for {result.duration_s:.1f} s and exited with status {result.exit_code}."
