"""Deterministic splits: invariant to row order, exact sizes, strata kept, groups whole, time ordered."""

import numpy as np
import polars as pl
import pytest

from curation.spec import SplitSpec
from curation.splits import BOARD, SIDE, assign_split, canonical_sort_columns, fit_split, key_hash

SALT = bytes(range(32))  # a fixed test salt; builds draw theirs from curation.secret


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 20_000
    return pl.DataFrame(
        {
            "id": np.arange(n) * 3 + 11,
            "label": rng.choice(["a", "b", "c"], size=n, p=[0.7, 0.25, 0.05]),
            "user": rng.integers(0, 700, n),
            "day": rng.integers(0, 400, n),
            "x": rng.normal(size=n),
        }
    )


SPLITS = {
    "random": SplitSpec(method="random", test_fraction=0.2, seed=3),
    "stratified": SplitSpec(method="stratified", stratify_column="label", test_fraction=0.2, seed=3),
    "group": SplitSpec(method="group", group_column="user", test_fraction=0.25, seed=3),
    "time": SplitSpec(method="time", time_column="day", test_fraction=0.2, public_fraction=0.4, seed=3),
}


def sides(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("id", SIDE, BOARD).sort("id")


def split_canonical(frame: pl.DataFrame, spec: SplitSpec) -> pl.DataFrame:
    """As the task builder does: the labeled table is stored in canonical order, then split."""
    return assign_split(frame.sort(canonical_sort_columns("id", spec)), "id", spec, SALT)


@pytest.mark.parametrize("method", SPLITS)
def test_split_is_invariant_to_row_order(table, method):
    spec = SPLITS[method]
    shuffled = table.sample(fraction=1.0, shuffle=True, seed=99)
    assert sides(split_canonical(table, spec)).equals(sides(split_canonical(shuffled, spec)))


@pytest.mark.parametrize("method", SPLITS)
def test_canonical_order_gives_identical_bytes_whatever_the_input_order(table, method):
    spec = SPLITS[method]
    assert split_canonical(table, spec).write_csv() == split_canonical(table.reverse(), spec).write_csv()


def test_seed_changes_the_split(table):
    a = assign_split(table, "id", SplitSpec(seed=1), SALT)
    b = assign_split(table, "id", SplitSpec(seed=2), SALT)
    assert not sides(a).equals(sides(b))


def test_random_split_has_exact_sizes(table):
    out = assign_split(table, "id", SPLITS["random"], SALT)
    assert (out[SIDE] == "test").sum() == 4000
    assert (out[BOARD] == "public").sum() == 2000
    assert out.filter(pl.col(SIDE) == "train")[BOARD].null_count() == 16_000


def test_stratified_split_keeps_class_shares(table):
    out = assign_split(table, "id", SPLITS["stratified"], SALT)
    counts = out.group_by("label").agg((pl.col(SIDE) == "test").sum().alias("test"), pl.len().alias("n"))
    for row in counts.iter_rows(named=True):
        assert row["test"] == int(row["n"] * 0.2 + 0.5), row


def test_group_split_never_splits_a_group(table):
    out = assign_split(table, "id", SPLITS["group"], SALT)
    per_user = out.group_by("user").agg(pl.col(SIDE).n_unique().alias("sides"), pl.col(BOARD).n_unique().alias("b"))
    assert per_user["sides"].max() == 1
    assert per_user["b"].max() == 1
    test_users = out.filter(pl.col(SIDE) == "test")["user"].n_unique()
    assert test_users == int(table["user"].n_unique() * 0.25 + 0.5)


def test_time_split_puts_the_last_window_in_test_and_earlier_test_on_public(table):
    out = split_canonical(table, SPLITS["time"])
    train, test = out.filter(pl.col(SIDE) == "train"), out.filter(pl.col(SIDE) == "test")
    assert train["day"].max() <= test["day"].min()
    public, private = test.filter(pl.col(BOARD) == "public"), test.filter(pl.col(BOARD) == "private")
    assert public["day"].max() <= private["day"].min()
    assert test.height == 4000


def test_string_and_integer_keys_hash_stably():
    ints = key_hash(pl.Series([1, 2, 3]), 0, "side", SALT)
    assert ints.tolist() == key_hash(pl.Series([1, 2, 3]), 0, "side", SALT).tolist()
    assert ints.tolist() != key_hash(pl.Series([1, 2, 3]), 1, "side", SALT).tolist()
    strings = key_hash(pl.Series(["a", "b", "a"]), 0, "side", SALT)
    assert strings[0] == strings[2] != strings[1]
    # Pinned values under a fixed salt: a change here changes every task_version on every machine.
    assert int(key_hash(pl.Series([42]), 0, "side", SALT)[0]) == 13682897436843623240
    assert int(key_hash(pl.Series(["42"]), 0, "side", SALT)[0]) == 6552783435010051399


def test_the_salt_changes_the_split_and_stays_out_of_reprs(table):
    a = assign_split(table, "id", SPLITS["stratified"], SALT)
    b = assign_split(table, "id", SPLITS["stratified"], bytes(32))
    assert not sides(a).equals(sides(b))
    assert sides(a).equals(sides(assign_split(table, "id", SPLITS["stratified"], SALT)))
    rule = fit_split(table, "id", SPLITS["random"], SALT)
    assert SALT.hex() not in repr(rule) and repr(SALT) not in repr(rule)


def test_empty_and_degenerate_splits_are_refused():
    with pytest.raises(ValueError, match="empty"):
        assign_split(pl.DataFrame({"id": []}, schema={"id": pl.Int64}), "id", SplitSpec(), SALT)
    with pytest.raises(ValueError, match="rows in test"):
        assign_split(pl.DataFrame({"id": [1]}), "id", SplitSpec(test_fraction=0.2), SALT)
