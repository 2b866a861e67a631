"""Deterministic train/test and public/private splits decided by hashing each row's key."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from curation.secret import keyed_digest
from curation.spec import SplitSpec

# Bump when the split logic changes: it is part of every task_version.
SPLIT_CODE_VERSION = "splits-3"

SIDE = "_side"  # "train" | "test"
BOARD = "board"  # "public" | "private" for test rows, null for train rows


def _tweak(seed: int, purpose: str) -> int:
    """A public 64-bit tag of (seed, purpose): one split's side and board draws are independent."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).digest(), "little")


def _raw_keys(keys: pl.Series) -> np.ndarray:
    """Each key as 64 bits: integers as they are, anything else as blake2b of its text (one call per value)."""
    if keys.dtype.is_integer():
        return keys.cast(pl.Int64).to_numpy().view(np.uint64)
    # blake2b is stable across versions and platforms, unlike polars' own hash.
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
    return pl.DataFrame({"k": text}).join(lookup, on="k", how="left", maintain_order="left")["h"].to_numpy()


def key_hash(keys: pl.Series, seed: int, purpose: str, salt: bytes) -> np.ndarray:
    """64-bit hashes of (seed, purpose, key) under the secret salt: equal on any machine and in any row order.

    Each (key, tag) pair is one AES block encrypted under a key derived from the salt, a keyed
    pseudo-random function: without the salt nobody can compute from a public id (or group) the board
    of a test row, which tells which rows the public leaderboard scores, nor the hash that bounds the
    strata a test row may belong to. AES runs over the whole column in one call (tens of millions of
    keys per second), where a Python-level keyed hash per row would dominate the build. Ranking by the
    full 64 bits makes ties practically impossible.
    """
    blocks = np.empty((keys.len(), 2), dtype="<u8")
    blocks[:, 0] = _raw_keys(keys)
    blocks[:, 1] = _tweak(seed, purpose)
    # ECB over distinct 16-byte blocks is the block cipher applied to each one: a PRF, nothing chained.
    encryptor = Cipher(algorithms.AES(keyed_digest(salt, "split-hash", b"", 16)), modes.ECB()).encryptor()
    encrypted = np.frombuffer(encryptor.update(blocks.tobytes()) + encryptor.finalize(), dtype="<u8")
    return encrypted[::2].astype(np.uint64)


def _take(count: int, fraction: float) -> int:
    """How many of `count` rows a fraction takes: round half up, the same everywhere."""
    return math.floor(count * fraction + 0.5)


def _cut(hashes: pl.Series, fraction: float) -> int | None:
    """The largest of the round(n * fraction) smallest hashes; rows at or below it are taken (None: none)."""
    take = _take(hashes.len(), fraction)
    return int(hashes.bottom_k(take).max()) if take else None


@dataclass(frozen=True)
class SplitRule:
    """What decides each row's side and board, fitted on the key columns of the whole table.

    Hash methods keep thresholds: a row (or its group) goes to test when its hash is at or below the
    cut of its stratum, and a test row to the public board when its board hash is at or below
    `board_cut`. Exact sizes come from the cuts being the k-th smallest hashes. Time splits keep row
    counts instead: the table is in (time, id) order and the last rows are the test window.
    """

    split: SplitSpec
    id_column: str
    salt: bytes = field(repr=False)  # the build's secret: keys every hash, so never in a repr or log
    side_cuts: dict[object, int | None] = field(default_factory=dict)  # stratum (None: all rows) -> cut
    board_cut: int | None = None
    train_rows: int = 0  # time splits
    public_rows: int = 0  # time splits

    @property
    def key_column(self) -> str:
        return self.split.group_column if self.split.method == "group" else self.id_column  # type: ignore[return-value]


def fit_split(keys: pl.DataFrame, id_column: str, split: SplitSpec, salt: bytes) -> SplitRule:
    """Fit the split on the key columns (id and the stratify, group or time column), in canonical order."""
    n = keys.height
    if n == 0:
        raise ValueError("cannot split an empty table")
    if split.method == "time":
        n_test = _take(n, split.test_fraction)
        _check_sizes(n_test, n)
        public_rows = _take(n_test, split.public_fraction)
        return SplitRule(split, id_column, salt, train_rows=n - n_test, public_rows=public_rows)
    if split.method == "group":
        groups = keys.select(pl.col(split.group_column).unique())[split.group_column]
        side = pl.Series(key_hash(groups, split.seed, "side", salt), dtype=pl.UInt64)
        cut = _cut(side, split.test_fraction)
        test_groups = groups.filter(side <= cut) if cut is not None else groups.clear()
        _check_sizes(int(keys[split.group_column].is_in(test_groups.implode()).sum()), n)
        board = pl.Series(key_hash(test_groups, split.seed, "board", salt), dtype=pl.UInt64)
        return SplitRule(split, id_column, salt, side_cuts={None: cut}, board_cut=_cut(board, split.public_fraction))
    side = pl.Series(key_hash(keys[id_column], split.seed, "side", salt), dtype=pl.UInt64)
    if split.method == "stratified":
        frame = pl.DataFrame({"stratum": keys[split.stratify_column], "u": side})
        cuts = {
            stratum: _cut(group["u"], split.test_fraction)
            for (stratum,), group in frame.group_by("stratum", maintain_order=True)
        }
    else:
        cuts = {None: _cut(side, split.test_fraction)}
    rule = SplitRule(split, id_column, salt, side_cuts=cuts)
    is_test = _hash_side(keys, rule, side)
    _check_sizes(int(is_test.sum()), n)
    test_ids = keys[id_column].filter(pl.Series(is_test))
    board = pl.Series(key_hash(test_ids, split.seed, "board", salt), dtype=pl.UInt64)
    return SplitRule(split, id_column, salt, side_cuts=cuts, board_cut=_cut(board, split.public_fraction))


def _check_sizes(n_test: int, n: int) -> None:
    if n_test == 0 or n_test == n:
        raise ValueError(f"split leaves {n_test} of {n} rows in test: change test_fraction")


def _hash_side(batch: pl.DataFrame, rule: SplitRule, side: pl.Series) -> np.ndarray:
    if rule.split.method == "stratified":
        strata = batch[rule.split.stratify_column]
        present = strata.unique(maintain_order=True)
        cuts = pl.Series([rule.side_cuts.get(v) for v in present.to_list()], dtype=pl.UInt64)
        lookup = pl.DataFrame({"stratum": present, "cut": cuts})
        joined = pl.DataFrame({"stratum": strata}).join(
            lookup, on="stratum", how="left", nulls_equal=True, maintain_order="left"
        )["cut"]
        return (side <= joined).fill_null(False).to_numpy()
    cut = rule.side_cuts[None]
    return np.zeros(batch.height, dtype=bool) if cut is None else (side <= cut).to_numpy()


def apply_split(batch: pl.DataFrame, rule: SplitRule, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(is_test, is_public) for a batch of rows; `offset` is the batch's first row in the whole table."""
    split = rule.split
    if split.method == "time":
        position = np.arange(offset, offset + batch.height)
        is_test = position >= rule.train_rows
        return is_test, is_test & (position < rule.train_rows + rule.public_rows)
    keys = batch[rule.key_column]
    is_test = _hash_side(batch, rule, pl.Series(key_hash(keys, split.seed, "side", rule.salt), dtype=pl.UInt64))
    board = pl.Series(key_hash(keys, split.seed, "board", rule.salt), dtype=pl.UInt64)
    is_public = is_test & (
        np.zeros(batch.height, dtype=bool) if rule.board_cut is None else (board <= rule.board_cut).to_numpy()
    )
    return is_test, is_public


def canonical_sort_columns(id_column: str, split: SplitSpec) -> list[str]:
    """The order every labeled table is stored and written in: by time then id for time splits, else by id.

    A fixed order makes files byte-identical whatever order the raw data came in.
    """
    return [split.time_column, id_column] if split.method == "time" and split.time_column else [id_column]


def assign_split(frame: pl.DataFrame, id_column: str, split: SplitSpec, salt: bytes) -> pl.DataFrame:
    """Add `_side` (train/test) and `board` (public/private on test rows) to a table in canonical order."""
    rule = fit_split(frame, id_column, split, salt)
    is_test, is_public = apply_split(frame, rule)
    test_col, public_col = pl.Series(is_test), pl.Series(is_public)
    return frame.with_columns(
        pl.when(test_col).then(pl.lit("test")).otherwise(pl.lit("train")).alias(SIDE),
        pl.when(~test_col)
        .then(pl.lit(None, dtype=pl.String))
        .when(public_col)
        .then(pl.lit("public"))
        .otherwise(pl.lit("private"))
        .alias(BOARD),
    )


def drop_split_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Remove the helper columns added by assign_split."""
    return frame.drop([c for c in (SIDE, BOARD) if c in frame.columns])
