"""Tests for graders.simulation_metrics (Conway's Reverse Game of Life)."""

import numpy as np
import pytest

from graders.simulation_metrics import life_step, reverse_life_mae


def _step_by_loops(board: np.ndarray) -> np.ndarray:
    """One generation with explicit neighbour loops on a torus (B3/S23)."""
    h, w = board.shape
    out = np.zeros_like(board)
    for y in range(h):
        for x in range(w):
            alive = sum(board[(y + dy) % h, (x + dx) % w] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
            out[y, x] = 1 if alive == 3 or (board[y, x] and alive == 2) else 0
    return out


def test_life_step_matches_the_rules() -> None:
    rng = np.random.default_rng(12)
    boards = (rng.random((4, 25, 25)) < 0.3).astype(np.int8)
    stepped = life_step(boards)
    for board, result in zip(boards, stepped, strict=True):
        assert (result == _step_by_loops(board)).all()
    # A glider wraps around the torus edge: after 4 generations it is the same shape moved one cell down-right.
    glider = np.zeros((1, 25, 25), dtype=np.int8)
    for y, x in [(23, 24), (24, 0), (0, 23), (0, 24), (0, 0)]:
        glider[0, y, x] = 1
    moved = glider
    for _ in range(4):
        moved = life_step(moved)
    assert (moved[0] == np.roll(glider[0], (1, 1), axis=(0, 1))).all()


def test_reverse_life_mae() -> None:
    rng = np.random.default_rng(13)
    starts = (rng.random((3, 625)) < 0.4).astype(int)
    deltas = np.array([1, 3, 5])
    stops = np.stack([life_step_n(s.reshape(25, 25), d).ravel() for s, d in zip(starts, deltas, strict=True)])
    assert reverse_life_mae(stops, starts, deltas) == 0.0
    # An alternative start that reaches the same stop board is perfect too: a still life (block) stays put.
    block = np.zeros((1, 25, 25), dtype=int)
    block[0, 5:7, 5:7] = 1
    assert reverse_life_mae(block, block, [2]) == 0.0
    # The all-dead start scores the fraction of live stop cells.
    assert reverse_life_mae(stops, np.zeros_like(starts), deltas) == pytest.approx(stops.mean())
    with pytest.raises(ValueError, match="deltas must be integers from 1 to 5"):
        reverse_life_mae(stops, starts, [1, 3, 6])
    with pytest.raises(ValueError, match="starts row 0 has a cell that is not 0 or 1"):
        reverse_life_mae(stops, starts * 2, deltas)
    with pytest.raises(ValueError, match="must be"):
        reverse_life_mae(stops[:, :600], starts[:, :600], deltas)


def life_step_n(board: np.ndarray, n: int) -> np.ndarray:
    """n generations by the loop reference."""
    for _ in range(n):
        board = _step_by_loops(board)
    return board
