"""`preflight` against the fake Kaggle: credentials, reachability, rules, sizes, cache, and its three outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_kaggle import FakeCompetition, FakeKaggle, isolated_env, spaceship_titanic_files

from curation.kaggle_client import KaggleClient, RetryPolicy
from curation.layout import Home
from curation.preflight import (
    exit_code,
    format_table,
    format_total,
    human_bytes,
    preflight,
    preflight_specs,
    summary,
    to_json,
)
from curation.spec import CompetitionSpec

FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_attempts=3, max_total_seconds=2.0)
OPEN, LOCKED = "spaceship-titanic", "rules-first"


@pytest.fixture
def fake() -> Iterator[FakeKaggle]:
    with FakeKaggle() as server:
        server.add(FakeCompetition(OPEN, spaceship_titanic_files()))
        server.add(FakeCompetition(LOCKED, spaceship_titanic_files(rows=20, test_rows=5), rules_accepted=False))
        yield server


def _home(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, credentials: str | None) -> Home:
    return Home(isolated_env(monkeypatch, fake, tmp_path, credentials=credentials))


def _client() -> KaggleClient:
    return KaggleClient(retry=FAST)


def _data_bytes(fake: FakeKaggle, slug: str) -> int:
    return sum(len(data) for data in fake.competitions[slug].files.values())


def _archive_bytes(fake: FakeKaggle, slug: str) -> int:
    return len(fake.competitions[slug].archive)


def test_rows_for_ready_locked_unknown_and_cached(
    fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(fake, tmp_path, monkeypatch, "token")
    rows = preflight([OPEN, LOCKED, "no-such-comp"], home, client=_client())
    by_slug = {row.slug: row for row in rows}
    ready, locked, unknown = by_slug[OPEN], by_slug[LOCKED], by_slug["no-such-comp"]
    assert (ready.credentials, ready.credentials_ok) == ("KAGGLE_API_TOKEN", True)
    assert (ready.reachable, ready.rules_accepted, ready.cached, ready.ready) == (True, True, False, True)
    assert ready.download_bytes == _archive_bytes(fake, OPEN) and ready.problem is None
    assert (locked.reachable, locked.rules_accepted, locked.ready) == (True, False, False)
    assert f"https://www.kaggle.com/competitions/{LOCKED}/rules" in (locked.problem or "")
    assert locked.download_bytes == _data_bytes(fake, LOCKED)
    assert (unknown.reachable, unknown.ready) == (False, False) and "HTTP 404" in (unknown.problem or "")
    assert fake.count("DownloadDataFiles") == 3 and fake.count("ListCompetitions") == 0
    assert not (home.root / "raw").exists()  # asked for the archives, read none

    _client().download(OPEN, home.raw_dir(OPEN))
    cached = preflight([OPEN], home, client=_client())[0]
    assert (
        cached.cached
        and cached.ready
        and cached.cached_bytes == home.raw_dir(OPEN).joinpath("download", f"{OPEN}.zip").stat().st_size
    )


def test_table_total_and_json(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _home(fake, tmp_path, monkeypatch, "env")
    _client().download(OPEN, home.raw_dir(OPEN))
    rows = preflight([OPEN, LOCKED], home, client=_client())
    table = format_table(rows)
    lines = table.splitlines()
    assert lines[0] == "credentials: KAGGLE_USERNAME/KAGGLE_KEY (ok)"
    assert lines[2].split() == ["competition", "reachable", "rules", "size", "cached", "status"]
    assert lines[3].startswith(OPEN) and lines[3].endswith("ready (cached)")
    assert lines[4].startswith(LOCKED) and lines[4].endswith("accept rules") and " no " in lines[4]
    assert "to fix:" in table and f"- {LOCKED}: rules not accepted" in table
    total = format_total(rows)
    assert total.startswith("2 competitions: 1 ready, 1 blocked; ")
    assert human_bytes(_data_bytes(fake, LOCKED)) + " to download" in total and "1 cached" in total
    assert "\n" not in total
    payload = json.loads(to_json(rows))
    assert [c["slug"] for c in payload["competitions"]] == [OPEN, LOCKED]
    assert payload["competitions"][1]["status"] == "accept rules" and payload["competitions"][1]["ready"] is False
    assert payload["total"] == summary(rows) and payload["total"]["download_bytes"] == _data_bytes(fake, LOCKED)
    assert fake.key not in table + total + to_json(rows)


def test_no_credentials_asks_nothing_and_cached_stays_ready(
    fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(fake, tmp_path, monkeypatch, "token")
    _client().download(OPEN, home.raw_dir(OPEN))
    monkeypatch.delenv("KAGGLE_API_TOKEN")
    requests_before = len(fake.log)
    rows = preflight([OPEN, LOCKED], home)
    assert len(fake.log) == requests_before
    assert [(row.credentials, row.credentials_ok, row.ready) for row in rows] == [
        (None, False, True),
        (None, False, False),
    ]
    assert "no Kaggle credentials found" in (rows[1].problem or "")
    table = format_table(rows)
    assert table.splitlines()[0] == "credentials: none found (missing)" and "no credentials" in table


def test_rejected_credentials_cost_one_request(
    fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(fake, tmp_path, monkeypatch, "token")
    monkeypatch.setenv("KAGGLE_API_TOKEN", "expired-token")
    rows = preflight([OPEN, LOCKED, "third"], home, client=_client())
    assert len(fake.log) == 1
    assert all(row.credentials_ok is False and not row.ready for row in rows)
    assert all("HTTP 401" in (row.problem or "") for row in rows)
    assert format_table(rows).splitlines()[0] == "credentials: KAGGLE_API_TOKEN (rejected)"
    assert "expired-token" not in format_table(rows)


def test_kaggle_down_is_reported_not_raised(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _home(fake, tmp_path, monkeypatch, "token")
    fake.fail("DownloadDataFiles", 503, 503, 503)
    (row,) = preflight([OPEN], home, client=_client())
    assert row.reachable is None and not row.ready and "gave up" in (row.problem or "")
    assert "unavailable" in format_table([row])


def test_spec_slug_may_differ_from_the_competition(
    fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(fake, tmp_path, monkeypatch, "token")
    (row,) = preflight(["my-titanic"], home, client=_client(), competitions={"my-titanic": OPEN})
    assert (row.slug, row.competition, row.ready) == ("my-titanic", OPEN, True)


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (None, 0, 1023, 1536, 25 * 1024**2 + 1, 3 * 1024**5)] == [
        "?",
        "0 B",
        "1023 B",
        "1.5 KB",
        "25.0 MB",
        "3072.0 TB",
    ]


def _spec(slug: str, source: dict[str, object]) -> CompetitionSpec:
    return CompetitionSpec.model_validate(
        {
            "slug": slug,
            "title": slug,
            "source": source,
            "task_type": "binary",
            "target_columns": ["y"],
            "metric": {"name": "accuracy"},
            "description": "d",
        }
    )


def test_preflight_of_specs_skips_offline_sources_and_maps_names(
    fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(fake, tmp_path, monkeypatch, "token")
    specs = [
        _spec("wine", {"kind": "builtin", "dataset": "sklearn:wine"}),
        _spec("titanic-copy", {"kind": "kaggle", "competition": OPEN}),
        _spec(LOCKED, {"kind": "kaggle"}),
    ]
    rows = preflight_specs(specs, home, client=_client())
    assert [(row.slug, row.competition, row.ready) for row in rows] == [
        ("titanic-copy", OPEN, True),
        (LOCKED, LOCKED, False),
    ]
    assert exit_code(rows) == 1 and exit_code(rows[:1]) == 0 and exit_code([]) == 0
