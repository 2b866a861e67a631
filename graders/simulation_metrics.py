"""Metrics that run a simulation on the prediction: Conway's Reverse Game of Life.

Self-contained (numpy only) so that a task's grader.py can embed this source verbatim, as it does
graders/metrics.py. Bad input raises ValueError naming the row.
"""

from typing import Any

import numpy as np

BOARD_SHAPE = (25, 25)


def life_step(boards: np.ndarray) -> np.ndarray:
    """One Game of Life generation of (n, h, w) 0/1 boards on a torus (B3/S23)."""
    neighbours = sum(
        np.roll(np.roll(boards, dy, axis=1), dx, axis=2) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx
    )
    return ((neighbours == 3) | ((boards == 1) & (neighbours == 2))).astype(boards.dtype)


def _boards(values: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    """(n, h*w) or (n, h, w) 0/1 cells as (n, h, w) integer boards."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 2 and array.shape[1] == shape[0] * shape[1]:
        array = array.reshape(-1, *shape)
    if array.ndim != 3 or array.shape[1:] != shape or not len(array):
        raise ValueError(f"{name} must be (n, {shape[0] * shape[1]}) or (n, {shape[0]}, {shape[1]}), got {array.shape}")
    bad = (array != 0) & (array != 1)
    if bad.any():
        raise ValueError(f"{name} row {int(np.argwhere(bad)[0][0])} has a cell that is not 0 or 1")
    return array.astype(np.int8)


def reverse_life_mae(
    stops: Any, starts: Any, deltas: Any, *, shape: tuple[int, int] = BOARD_SHAPE, max_delta: int = 5
) -> float:
    """Mean over all cells of |stop - life^delta(predicted start)| on a torus (Conway's Reverse Game of Life).

    Source: Kaggle conways-reverse-game-of-life-2020: each predicted 25x25 start board is run forward `delta`
    generations (1 to 5) and compared cell by cell with the given stop board; the score is the mean absolute
    error over all cells of all boards, so any start that reaches the stop board is perfect.
    """
    truth, guess = _boards(stops, "stops", shape), _boards(starts, "starts", shape)
    steps = np.asarray(deltas)
    if truth.shape != guess.shape or steps.shape != (len(truth),):
        raise ValueError(f"stops {truth.shape}, starts {guess.shape} and deltas {steps.shape} must have the same rows")
    if not np.issubdtype(steps.dtype, np.integer) or (steps < 1).any() or (steps > max_delta).any():
        raise ValueError(f"deltas must be integers from 1 to {max_delta}")
    boards = guess.copy()
    for generation in range(1, int(steps.max()) + 1):
        running = steps >= generation
        boards[running] = life_step(boards[running])
    return float(np.mean(np.abs(boards - truth)))
