"""Leaderboard snapshots from the fake Kaggle, and the check that a board runs in its metric's direction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from fake_kaggle import FakeCompetition, FakeKaggle, isolated_env, make_board, spaceship_titanic_files

from curation.kaggle_client import CompetitionInfo, KaggleClient, LeaderboardEntry, RetryPolicy, RulesNotAcceptedError
from curation.kaggle_leaderboards import (
    LEADERBOARD_SCHEMA,
    board_frame,
    check_direction,
    is_running,
    leaderboard_snapshot,
)

FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_attempts=3, max_total_seconds=2.0)
PUBLIC = [0.95, 0.93, 0.93, 0.90, 0.88, 0.80, 0.71]
PRIVATE = [0.94, 0.92, 0.91, 0.91, 0.85, 0.79, 0.70]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKaggle]:
    with FakeKaggle() as server:
        files = spaceship_titanic_files(rows=20, test_rows=5)
        server.add(FakeCompetition("ended", files, public_board=make_board(PUBLIC), private_board=make_board(PRIVATE)))
        server.add(FakeCompetition("open-board", files, public_board=make_board([0.5, 0.4, 0.3])))
        # Running (deadline ahead): whatever the default board says, it is not a private board yet.
        server.add(
            FakeCompetition(
                "running",
                files,
                public_board=make_board([0.5, 0.4, 0.3]),
                private_board=make_board([0.5, 0.45, 0.3]),
                deadline="2999-01-01T00:00:00.000Z",
            )
        )
        server.add(FakeCompetition("small", files, public_board=make_board([1.0])))
        isolated_env(monkeypatch, server, tmp_path)
        yield server


def test_snapshot_has_both_boards_in_contract_columns(fake: FakeKaggle) -> None:
    frame = leaderboard_snapshot(KaggleClient(retry=FAST, page_size=3), "ended", snapshot="2024-07-01")
    assert frame.schema == pl.Schema(LEADERBOARD_SCHEMA)
    assert list(frame.columns) == ["rank", "score", "board", "kind", "entry", "snapshot", "team_count"]
    public = frame.filter(pl.col("board") == "public")
    private = frame.filter(pl.col("board") == "private")
    assert public["score"].to_list() == PUBLIC and private["score"].to_list() == PRIVATE
    assert public["rank"].to_list() == list(range(1, 8))
    assert set(frame["team_count"].to_list()) == {7}
    assert set(frame["kind"].to_list()) == {"kaggle"} and frame["entry"].null_count() == frame.height
    assert set(frame["snapshot"].to_list()) == {"2024-07-01"}
    # page_size=3 over 7 teams: three pages per board, two boards
    assert fake.count("GetLeaderboard", "ended") == 6


def test_team_names_are_dropped(fake: FakeKaggle) -> None:
    frame = leaderboard_snapshot(KaggleClient(retry=FAST), "ended", snapshot="s")
    text = frame.write_csv()
    assert "Team" not in text and "team_name" not in frame.columns


@pytest.mark.parametrize("slug", ["open-board", "running"])
def test_only_a_public_board_before_the_end(slug: str, fake: FakeKaggle) -> None:
    frame = leaderboard_snapshot(KaggleClient(retry=FAST), slug, snapshot="s")
    assert frame["board"].unique().to_list() == ["public"] and frame["score"].to_list() == [0.5, 0.4, 0.3]
    assert fake.count("GetLeaderboard", slug) == (1 if slug == "running" else 2)


def test_is_running() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    info = CompetitionInfo("c", None, datetime(2024, 7, 1), 10, True)
    assert is_running(info, now) and not is_running(info, datetime(2024, 8, 1, tzinfo=UTC))
    assert not is_running(None, now) and not is_running(CompetitionInfo("c", None, None, 0, True), now)


def test_leaderboard_faults_are_kaggle_errors(fake: FakeKaggle) -> None:
    fake.fail("GetLeaderboard", 403)
    with pytest.raises(RulesNotAcceptedError, match="/competitions/small/rules"):
        leaderboard_snapshot(KaggleClient(retry=FAST), "small")
    fake.fail("GetLeaderboard", 503)
    assert leaderboard_snapshot(KaggleClient(retry=FAST), "small", snapshot="s").height == 1


def test_unscored_teams_are_dropped_but_counted() -> None:
    entries = [
        LeaderboardEntry(1, "0.9", None),
        LeaderboardEntry(2, "", None),
        LeaderboardEntry(3, "0.7", None),
        LeaderboardEntry(4, None, None),
        LeaderboardEntry(5, "nan", None),
    ]
    frame = board_frame(entries, "private", "s")
    assert frame["rank"].to_list() == [1, 3] and frame["score"].to_list() == [0.9, 0.7]
    assert frame["team_count"].to_list() == [5, 5]
    with pytest.raises(ValueError, match="board must be"):
        board_frame(entries, "final", "s")


def _frame(public: list[float], private: list[float] | None = None) -> pl.DataFrame:
    entries = lambda scores: [LeaderboardEntry(i, str(s), None) for i, s in enumerate(scores)]  # noqa: E731
    frames = [board_frame(entries(public), "public", "s")]
    if private is not None:
        frames.append(board_frame(entries(private), "private", "s"))
    return pl.concat(frames)


def test_direction_agrees() -> None:
    checks = check_direction(_frame(PUBLIC, PRIVATE), higher_is_better=True)
    assert [(c.board, c.ok, c.observed) for c in checks] == [("private", True, "higher"), ("public", True, "higher")]
    lower = check_direction(_frame([0.1, 0.2, 0.2, 0.5]), higher_is_better=False)
    assert lower[0].ok and lower[0].observed == "lower" and "agree" in lower[0].message


def test_direction_mismatch_is_reported() -> None:
    (check,) = check_direction(_frame([0.1, 0.2, 0.3, 0.4]), higher_is_better=True)
    assert not check.ok and check.observed == "lower" and check.violations == 3 and check.first_violation_rank == 2
    assert "disagrees" in check.message and "lower-is-better" in check.message
    (mixed,) = check_direction(_frame([0.9, 0.8, 0.85, 0.7]), higher_is_better=True)
    assert not mixed.ok and mixed.observed == "mixed" and mixed.violations == 1 and mixed.first_violation_rank == 3
    checks = check_direction(_frame(PUBLIC, list(reversed(PRIVATE))), higher_is_better=True)
    assert {c.board: c.ok for c in checks} == {"public": True, "private": False}


def test_direction_of_a_flat_or_tiny_board_passes() -> None:
    (flat,) = check_direction(_frame([0.5, 0.5, 0.5]), higher_is_better=False)
    assert flat.ok and flat.observed == "flat"
    (single,) = check_direction(_frame([0.5]), higher_is_better=True)
    assert single.ok and single.pairs == 0
    with pytest.raises(ValueError, match="lacks columns"):
        check_direction(pl.DataFrame({"score": [1.0]}), higher_is_better=True)


def test_direction_follows_rank_not_row_order() -> None:
    frame = _frame([0.9, 0.8, 0.7]).reverse()
    assert check_direction(frame, higher_is_better=True)[0].ok
