"""Deterministic train/test and public/private splits decided by hashing each row's key."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from curation.spec import SplitSpec

# Bump when the split logic changes: it is part of every task_version.
SPLIT_CODE_VERSION = "splits-1"

SIDE = "_side"  # "train" | "test"
BOARD = "board"  # "public" | "private" for test rows, null for train rows
_U = "_u"
_U_BOARD = "_u_board"

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer: a portable, well-mixed 64-bit hash of uint64 values."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (z ^ (z >> np.uint64(31))) & _MASK64


def _salt(seed: int, purpose: str) -> np.uint64:
    digest = hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def key_hash(keys: pl.Series, seed: int, purpose: str) -> np.ndarray:
    """64-bit hashes of (seed, purpose, key): equal on any machine and in any row order.

    Ranking by the full 64 bits makes ties (which would fall back to row position) practically
    impossible: about 3e-6 expected collisions at 10M rows.
    """
    salt = _salt(seed, purpose)
    if keys.dtype.is_integer():
        raw = keys.cast(pl.Int64).to_numpy().view(np.uint64)
    else:
        # Strings (and anything else, via its text form) go through blake2b: stable across versions and
        # platforms, unlike polars' own hash. Unique values are hashed once.
        text = keys.cast(pl.String)
        uniques = text.unique(maintain_order=True)
        digests = np.fromiter(
            (
                int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little")
                for value in uniques.fill_null("\x00null").to_list()
            ),
            dtype=np.uint64,
            count=len(uniques),
        )
        lookup = pl.DataFrame({"k": uniques, "h": pl.Series(digests, dtype=pl.UInt64)})
        raw = pl.DataFrame({"k": text}).join(lookup, on="k", how="left", maintain_order="left")["h"].to_numpy()
    return _splitmix64(raw ^ salt)


def _take(count: pl.Expr | int, fraction: float) -> pl.Expr:
    """How many rows of `count` a fraction takes: round half up, the same in every stratum."""
    return (pl.lit(count) if isinstance(count, int) else count).cast(pl.Float64).mul(fraction).add(0.5).floor()


def _first_fraction(frame: pl.DataFrame, order: list[str], fraction: float, over: str | None) -> pl.Series:
    """True for the first round(n * fraction) rows by `order`, within each `over` group when given.

    With a single unique hash column the cut is a threshold on the k-th smallest value, which is
    an O(n) selection instead of a full sort.
    """
    if len(order) > 1:
        rank = pl.struct(order).rank("ordinal")
        return frame.select((rank <= _take(frame.height, fraction)).alias("m"))["m"]
    column = order[0]
    if over is None:
        take = int(frame.select(_take(frame.height, fraction)).item())
        if take == 0:
            return pl.Series("m", [False] * frame.height)
        threshold = frame[column].bottom_k(take).max()
        return frame[column] <= threshold
    thresholds = frame.group_by(over).agg(
        pl.col(column).sort().get(_take(pl.len(), fraction).cast(pl.Int64) - 1, null_on_oob=True).alias("_cut")
    )
    joined = frame.select(over, column).join(thresholds, on=over, how="left", nulls_equal=True, maintain_order="left")
    return joined.select((pl.col(column) <= pl.col("_cut")).fill_null(False).alias("m"))["m"]


def assign_split(frame: pl.DataFrame, id_column: str, split: SplitSpec) -> pl.DataFrame:
    """Add `_side` (train/test) and `board` (public/private on test rows) to the labeled table.

    The side of a row depends only on (seed, its key) and, for exact sizes, the keys of the other rows:
    never on row positions. Methods: random, stratified (exact fraction within every stratum), group
    (whole groups move together, boards too), time (the last window by time goes to test, and the
    earlier part of that window is the public board, as in Kaggle forecasting competitions).
    """
    if frame.is_empty():
        raise ValueError("cannot split an empty table")
    key_column = split.group_column if split.method == "group" else id_column
    keys = frame[key_column]
    work = frame.with_columns(
        pl.Series(_U, key_hash(keys, split.seed, "side"), dtype=pl.UInt64),
        pl.Series(_U_BOARD, key_hash(keys, split.seed, "board"), dtype=pl.UInt64),
    )
    if split.method == "time":
        assert split.time_column is not None
        # Ties on time are broken by the row key so the boundary is reorder-invariant too.
        is_test = ~_first_fraction(work, [split.time_column, _U], 1.0 - split.test_fraction, None)
    elif split.method == "group":
        groups = work.group_by(key_column).agg(pl.col(_U).first(), pl.col(_U_BOARD).first())
        test_groups = groups.filter(_first_fraction(groups, [_U], split.test_fraction, None))
        is_test = work[key_column].is_in(test_groups[key_column].implode())
    else:
        over = split.stratify_column if split.method == "stratified" else None
        is_test = _first_fraction(work, [_U], split.test_fraction, over)
    test_mask = is_test.to_numpy()
    n_test = int(test_mask.sum())
    if n_test == 0 or n_test == work.height:
        raise ValueError(f"split leaves {n_test} of {work.height} rows in test: change test_fraction")
    test = work.filter(pl.Series(test_mask))
    if split.method == "time":
        public = _first_fraction(test, [split.time_column, _U], split.public_fraction, None)
    elif split.method == "group":
        groups = test.group_by(key_column).agg(pl.col(_U_BOARD).first())
        public_groups = groups.filter(_first_fraction(groups, [_U_BOARD], split.public_fraction, None))
        public = test[key_column].is_in(public_groups[key_column].implode())
    else:
        public = _first_fraction(test, [_U_BOARD], split.public_fraction, None)
    # Scatter the test rows' board back to full length without a join.
    public_mask = np.zeros(work.height, dtype=bool)
    public_mask[np.flatnonzero(test_mask)] = public.to_numpy()
    is_test_col, is_public_col = pl.Series(test_mask), pl.Series(public_mask)
    return work.with_columns(
        pl.when(is_test_col).then(pl.lit("test")).otherwise(pl.lit("train")).alias(SIDE),
        pl.when(~is_test_col)
        .then(pl.lit(None, dtype=pl.String))
        .when(is_public_col)
        .then(pl.lit("public"))
        .otherwise(pl.lit("private"))
        .alias(BOARD),
    )


def canonical_order(frame: pl.DataFrame, id_column: str, split: SplitSpec) -> pl.DataFrame:
    """Rows in an order that depends on keys only: by time for time splits, else by key hash.

    Writing in this order makes files byte-identical whatever order the raw data came in, and does
    not leak the target through file order the way sorting by a meaningful id could.
    """
    order = [split.time_column, _U, id_column] if split.method == "time" else [_U, id_column]
    return frame.sort(order)


def drop_split_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Remove the helper columns added by assign_split."""
    return frame.drop([c for c in (_U, _U_BOARD, SIDE, BOARD) if c in frame.columns])
