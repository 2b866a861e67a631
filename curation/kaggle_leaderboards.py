"""Kaggle leaderboard snapshots as polars frames (team names dropped), and a check of their score direction."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import polars as pl

from curation.kaggle_client import CompetitionInfo, LeaderboardEntry

# The columns of leaderboards/<slug>/<snapshot>.parquet (contracts.md), in order.
LEADERBOARD_SCHEMA: dict[str, pl.DataType] = {
    "rank": pl.Int64(),
    "score": pl.Float64(),
    "board": pl.String(),
    "kind": pl.String(),
    "entry": pl.String(),
    "snapshot": pl.String(),
    "team_count": pl.Int64(),
}


class LeaderboardSource(Protocol):
    """What a snapshot needs from a client (`KaggleClient` or a stand-in)."""

    def leaderboard(self, slug: str, *, public: bool) -> list[LeaderboardEntry]: ...

    def competition(self, slug: str) -> CompetitionInfo | None: ...


def today() -> str:
    """The snapshot name of today, as a UTC date string."""
    return datetime.now(UTC).date().isoformat()


def _parse_score(text: str | None) -> float | None:
    """Kaggle sends scores as strings; an empty or non-numeric one counts as no score."""
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def board_frame(entries: Sequence[LeaderboardEntry], board: str, snapshot: str) -> pl.DataFrame:
    """One board as leaderboard rows: rank is the position Kaggle gives (1 = best); unscored teams are dropped.

    team_count counts every team on the board, scored or not, since Kaggle's medal cut-offs count them all.
    """
    if board not in ("public", "private"):
        raise ValueError(f"board must be 'public' or 'private', got {board!r}")
    rows = [(rank, _parse_score(e.score)) for rank, e in enumerate(entries, start=1)]
    scored = [(rank, score) for rank, score in rows if score is not None]
    return pl.DataFrame(
        {
            "rank": [rank for rank, _ in scored],
            "score": [score for _, score in scored],
            "board": [board] * len(scored),
            "kind": ["kaggle"] * len(scored),
            "entry": [None] * len(scored),
            "snapshot": [snapshot] * len(scored),
            "team_count": [len(entries)] * len(scored),
        },
        schema=LEADERBOARD_SCHEMA,
    )


def is_running(info: CompetitionInfo | None, now: datetime | None = None) -> bool:
    """Whether the competition is listed with a deadline still ahead (then Kaggle has no private board yet)."""
    if info is None or info.deadline is None:
        return False
    deadline = info.deadline if info.deadline.tzinfo else info.deadline.replace(tzinfo=UTC)
    return deadline > (now or datetime.now(UTC))


def leaderboard_snapshot(client: LeaderboardSource, slug: str, snapshot: str | None = None) -> pl.DataFrame:
    """The public board and, where Kaggle gives one, the private board of `slug`, as one frame.

    Kaggle's default leaderboard is the private one once a competition has ended and the public one before;
    asking with overridePublic always gives the public one. A competition still running (listed, deadline
    ahead) has only its public board; otherwise the private board exists when the default differs from it.
    """
    name = snapshot or today()
    public = client.leaderboard(slug, public=True)
    frames = [board_frame(public, "public", name)]
    if not is_running(client.competition(slug)):
        default = client.leaderboard(slug, public=False)
        if default != public:
            frames.append(board_frame(default, "private", name))
    return pl.concat(frames)


Trend = Literal["higher", "lower", "flat", "mixed"]


@dataclass(frozen=True)
class DirectionCheck:
    """Whether a board's scores run in the metric's direction from rank 1 down.

    `observed` is "higher" when scores only fall going down the board (higher is better), "lower" when they only
    rise, "flat" when all are equal (nothing to check), "mixed" when they do both. `violations` counts adjacent
    pairs ordered against `higher_is_better`; the check passes when there are none.
    """

    board: str
    higher_is_better: bool
    observed: Trend
    violations: int
    pairs: int
    first_violation_rank: int | None

    @property
    def ok(self) -> bool:
        return self.violations == 0

    @property
    def message(self) -> str:
        expected = "higher" if self.higher_is_better else "lower"
        if self.ok:
            return f"{self.board} board: {self.pairs} adjacent pairs agree with {expected}-is-better"
        return (
            f"{self.board} board disagrees with the metric ({expected} is better): {self.violations} of "
            f"{self.pairs} adjacent pairs run the other way, the first at rank {self.first_violation_rank}; "
            f"the scores look {self.observed}-is-better. Check the spec's metric and higher_is_better."
        )


def check_direction(frame: pl.DataFrame, higher_is_better: bool) -> list[DirectionCheck]:
    """One DirectionCheck per board in the frame (by rank); a board with fewer than two scores passes as flat."""
    missing = {"rank", "score", "board"} - set(frame.columns)
    if missing:
        raise ValueError(f"leaderboard frame lacks columns {sorted(missing)}")
    checks = []
    for board in sorted(frame["board"].unique().to_list()):
        rows = frame.filter(pl.col("board") == board).sort("rank")
        scores, ranks = rows["score"].to_list(), rows["rank"].to_list()
        falling = rising = 0
        first_violation: int | None = None
        for index in range(len(scores) - 1):
            step = scores[index + 1] - scores[index]
            if step < 0:
                falling += 1
            elif step > 0:
                rising += 1
            against = step > 0 if higher_is_better else step < 0
            if against and first_violation is None:
                first_violation = ranks[index + 1]
        observed: Trend = "mixed" if falling and rising else "higher" if falling else "lower" if rising else "flat"
        checks.append(
            DirectionCheck(
                board=board,
                higher_is_better=higher_is_better,
                observed=observed,
                violations=rising if higher_is_better else falling,
                pairs=max(len(scores) - 1, 0),
                first_violation_rank=first_violation,
            )
        )
    return checks
