"""Position score and Kaggle medals from a leaderboard's scores.

Self-contained (stdlib only): embedded in every rendered grader.py.
"""

from __future__ import annotations

import math


def _beats_or_matches(score: float, other: float, higher_is_better: bool) -> bool:
    if math.isclose(score, other, rel_tol=1e-12, abs_tol=1e-12):
        return True
    return score > other if higher_is_better else score < other


def leaderboard_rank(score: float, board_scores: list[float], higher_is_better: bool) -> int:
    """1-based rank p of the first entry (best first) that `score` matches or beats; N + 1 if none."""
    ordered = sorted(board_scores, reverse=higher_is_better)
    for index, other in enumerate(ordered):
        if _beats_or_matches(score, other, higher_is_better):
            return index + 1
    return len(ordered) + 1


def position_score(score: float, board_scores: list[float], higher_is_better: bool) -> float:
    """(N - p + 1) / N: 1.0 at the top of a board of N entries, 0.0 below every entry."""
    n = len(board_scores)
    if n == 0:
        raise ValueError("position score needs a leaderboard with at least one entry")
    return (n - leaderboard_rank(score, board_scores, higher_is_better) + 1) / n


def medal_ranks(team_count: int) -> dict[str, int]:
    """Last rank that earns each medal, by Kaggle's progression table (as MLE-bench uses it)."""
    if team_count < 100:
        gold, silver, bronze = team_count * 0.1, team_count * 0.2, team_count * 0.4
    elif team_count < 250:
        gold, silver, bronze = 10, team_count * 0.2, team_count * 0.4
    elif team_count < 1000:
        gold, silver, bronze = 10 + team_count * 0.002, 50, 100
    else:
        gold, silver, bronze = 10 + team_count * 0.002, team_count * 0.05, team_count * 0.1
    # Kaggle rounds the percentage thresholds down, but at least the first place takes each medal.
    return {"gold": max(1, int(gold)), "silver": max(1, int(silver)), "bronze": max(1, int(bronze))}


def medal(score: float, board_scores: list[float], higher_is_better: bool, team_count: int | None = None) -> str | None:
    """ "gold" | "silver" | "bronze" | None: whether `score` would rank within each medal's places."""
    if not board_scores:
        return None
    rank = leaderboard_rank(score, board_scores, higher_is_better)
    for name, last_rank in medal_ranks(team_count or len(board_scores)).items():
        if rank <= last_rank:
            return name
    return None
