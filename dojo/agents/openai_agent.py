"""An LLM agent for any OpenAI-compatible chat endpoint, speaking the env's JSON action protocol."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from openai import OpenAI, OpenAIError

from dojo.actions import SYSTEM_PROMPT, ActionError, parse_action

REPAIR_PROMPT = """\
Your reply could not be used as an action: {error}.
Reply again with exactly one JSON object {{"action": NAME, "params": {{...}}}} (NAME one of request_info,
validate_code, execute_code, get_history, submit), optionally followed by a ```python block holding the code."""

TRIMMED_NOTE = "[Earlier steps were dropped to fit the context; use get_history to see them.]"
_FENCED = re.compile(r"```([A-Za-z0-9_+-]*)[ \t]*\n(.*?)```", re.DOTALL)


class AgentError(RuntimeError):
    """The agent cannot go on: a missing setting or an endpoint that keeps failing."""


def extract_action(reply: str) -> dict[str, Any]:
    """The action in an LLM reply: bare JSON, JSON in a fence, or the outermost {...}; code may sit in a python fence.

    Raises ActionError (via parse_action) with what is wrong, so the message can go back to the model.
    """
    text = reply.strip()
    fences = _FENCED.findall(text)
    candidates = [text]
    candidates += [body for lang, body in fences if lang.lower() in ("json", "")]
    if "{" in text and "}" in text:
        candidates.append(text[text.index("{") : text.rindex("}") + 1])
    found: dict[str, Any] | None = None
    for candidate in candidates:
        try:
            # strict=False accepts raw newlines inside strings: models often put code in JSON unescaped.
            value = json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found = value
            break
    if found is None:
        raise ActionError("no JSON object could be read from the reply")
    params = found.get("params")
    if found.get("action") in ("execute_code", "validate_code") and isinstance(params, dict) and "code" not in params:
        code = [body for lang, body in fences if lang.lower() in ("python", "py")]
        if code:
            found = {**found, "params": {**params, "code": code[-1]}}
    return parse_action(found).to_dict()


class OpenAIAgent:
    """Chats with an OpenAI-compatible endpoint; one action per model reply, repaired when unparseable.

    Settings come from the arguments or the environment: model (DOJO_OPENAI_MODEL), base URL
    (OPENAI_BASE_URL; the OpenAI API when unset), key (OPENAI_API_KEY), prices in USD per million input and
    output tokens (DOJO_PRICE_INPUT_PER_MTOK, DOJO_PRICE_OUTPUT_PER_MTOK; 0 when unset). Every step's
    `step_meta` carries the model, token counts, cost, repairs and the raw reply for the trajectory.
    When the conversation grows past `context_chars`, the oldest exchanges are dropped (the model can
    ask for get_history). After `max_repairs` unusable replies the raw reply is sent to the env, which
    answers with the protocol (and charges the step).
    """

    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 4096,
        max_repairs: int = 2,
        price_input_per_mtok: float | None = None,
        price_output_per_mtok: float | None = None,
        context_chars: int = 150_000,
        timeout_s: float = 300.0,
    ) -> None:
        self.model = model or os.environ.get("DOJO_OPENAI_MODEL")
        if not self.model:
            raise AgentError("no model: pass model= (dojo run --model) or set DOJO_OPENAI_MODEL")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise AgentError("no API key: pass api_key= or set OPENAI_API_KEY")
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_repairs = max_repairs
        self.price_input = _price(price_input_per_mtok, "DOJO_PRICE_INPUT_PER_MTOK")
        self.price_output = _price(price_output_per_mtok, "DOJO_PRICE_OUTPUT_PER_MTOK")
        self.context_chars = context_chars
        self.client = OpenAI(base_url=self.base_url, api_key=key, timeout=timeout_s, max_retries=2)
        self.messages: list[dict[str, str]] = []
        self.totals = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "calls": 0}
        self._meta: dict[str, Any] | None = None
        self._first = True

    def reset(self, observation: dict[str, Any], info: dict[str, Any]) -> None:
        self.messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": observation["text"]}]
        self.totals = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "calls": 0}
        self._first = True

    def step_meta(self) -> dict[str, Any] | None:
        return self._meta

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> dict[str, Any] | str:
        if not self._first:
            self.messages.append({"role": "user", "content": observation["text"]})
        self._first = False
        self._trim()
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "latency_s": 0.0}
        reply = ""
        errors: list[str] = []
        for _attempt in range(self.max_repairs + 1):
            reply = self._complete(usage)
            try:
                action: dict[str, Any] | str = extract_action(reply)
            except ActionError as exc:
                errors.append(str(exc))
                self.messages.append({"role": "assistant", "content": reply})
                self.messages.append({"role": "user", "content": REPAIR_PROMPT.format(error=exc)})
                continue
            break
        else:
            action = reply  # the env explains the protocol once more, and the step is spent
        self.messages.append({"role": "assistant", "content": reply})
        self._meta = {
            "model": self.model,
            **usage,
            "repairs": len(errors),
            "repair_errors": errors,
            "raw_reply": reply,
            "total_prompt_tokens": self.totals["prompt_tokens"],
            "total_completion_tokens": self.totals["completion_tokens"],
            "total_cost_usd": round(self.totals["cost_usd"], 6),
        }
        return action

    def _complete(self, usage: dict[str, Any]) -> str:
        """One chat completion; adds its tokens, cost and latency to `usage` and the totals."""
        started = time.perf_counter()
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=self.messages, temperature=self.temperature, max_tokens=self.max_tokens
            )
        except OpenAIError as exc:
            raise AgentError(f"chat completion failed at {self.base_url or 'api.openai.com'}: {exc}") from exc
        usage["latency_s"] += time.perf_counter() - started
        prompt = response.usage.prompt_tokens if response.usage else 0
        completion = response.usage.completion_tokens if response.usage else 0
        cost = (prompt * self.price_input + completion * self.price_output) / 1_000_000
        usage["prompt_tokens"] += prompt
        usage["completion_tokens"] += completion
        usage["cost_usd"] += cost
        self.totals["prompt_tokens"] += prompt
        self.totals["completion_tokens"] += completion
        self.totals["cost_usd"] += cost
        self.totals["calls"] += 1
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""

    def _trim(self) -> None:
        """Drop the oldest exchanges (keeping the system prompt and the task) while over the context budget."""
        while sum(len(m["content"]) for m in self.messages) > self.context_chars and len(self.messages) > 4:
            rest = [m for m in self.messages[2:] if m["content"] != TRIMMED_NOTE]
            self.messages = [*self.messages[:2], {"role": "user", "content": TRIMMED_NOTE}, *rest[2:]]


def _price(value: float | None, variable: str) -> float:
    if value is not None:
        return float(value)
    raw = os.environ.get(variable)
    if not raw:
        return 0.0
    try:
        return float(raw)
    except ValueError as exc:
        raise AgentError(f"{variable} must be a number (USD per million tokens), got {raw!r}") from exc
