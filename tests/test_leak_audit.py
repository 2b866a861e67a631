"""Leak audit: each check passes on good tasks and fails on the fixture that leaks what it looks for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from release_fixtures import fixture_spec, make_task, replace_public_table

from curation.layout import Home
from curation.leak_attacks import ATTACK_CHECKS, attack_task
from curation.leak_audit import LEAK_CHECKS, association, audit_task, order_correlations, target_leaks
from curation.task_frames import load_task_frames

KINDS = ("binary", "multiclass", "regression")

# breakage -> the leak check that must fail, alone.
LEAKS = {
    "target_in_test": "target_columns",
    "target_mapping_in_test": "target_columns",
    "overlapping_ids": "shared_ids",
    "duplicated_rows": "duplicate_rows",
    "ordered_ids": "order_correlation",
    "ordered_test_file": "order_correlation",
    "empty_private_board": "board_sizes",
}


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "dojo-home")


def _failed(findings) -> set[str]:
    return {finding.name for finding in findings if not finding.passed}


@pytest.mark.parametrize("kind", [*KINDS, "text"])
def test_good_fixture_passes_every_leak_check(home: Home, kind: str) -> None:
    task = make_task(home, f"good-{kind}", kind=kind)
    findings = audit_task(load_task_frames(task.task_dir), task.spec)
    assert [f.name for f in findings] == list(LEAK_CHECKS)
    assert _failed(findings) == set()
    assert all(f.blocking for f in findings)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("breakage", sorted(LEAKS))
def test_each_leak_fails_its_check(home: Home, kind: str, breakage: str) -> None:
    task = make_task(home, "leaky", kind=kind, breakage=breakage)
    findings = audit_task(load_task_frames(task.task_dir), task.spec)
    assert _failed(findings) == {LEAKS[breakage]}


@pytest.mark.parametrize(
    ("kind", "how"), [("binary", "mapping"), ("multiclass", "mapping"), ("regression", "monotone")]
)
def test_target_derived_columns_are_named_with_how_they_derive(home: Home, kind: str, how: str) -> None:
    task = make_task(home, "derived", kind=kind, breakage="target_mapping_in_test")
    assert target_leaks(load_task_frames(task.task_dir)) == [
        {"file": "public/test.csv", "column": "hint", "target": "target", "how": how}
    ]
    named = make_task(home, "named", kind=kind, breakage="target_in_test")
    assert target_leaks(load_task_frames(named.task_dir)) == [
        {"file": "public/test.csv", "column": "target", "target": "target", "how": "named"}
    ]


def test_copies_in_extra_tables_and_sample_submission_are_found(home: Home) -> None:
    task = make_task(home, "copies", kind="regression")
    frames = load_task_frames(task.task_dir)
    answers = frames.answers
    # An extra table whose `label` column is the answer, under another name.
    replace_public_table(task, "metadata.csv", answers.select("id", pl.col("target").alias("label")))
    # A sample submission that holds the answers themselves.
    replace_public_table(task, "sample_submission.csv", answers.select("id", "target"), role="sample_submission")
    found = target_leaks(load_task_frames(task.task_dir))
    assert {"file": "public/metadata.csv", "column": "label", "target": "target", "how": "copy"} in found
    assert {"file": "public/sample_submission.csv", "column": "target", "target": "target", "how": "copy"} in found
    # A target column kept in an extra table without ids is found by its name.
    replace_public_table(task, "notes.csv", pl.DataFrame({"target": [1.0, 2.0]}))
    found = target_leaks(load_task_frames(task.task_dir))
    assert {"file": "public/notes.csv", "column": "target", "target": "target", "how": "named"} in found


def test_features_are_not_mistaken_for_targets(home: Home) -> None:
    task = make_task(home, "features", kind="regression")
    frames = load_task_frames(task.task_dir)
    # A unique float feature is 1:1 with a continuous target only trivially: not a leak.
    assert frames.test["x0"].n_unique() == frames.test.height
    assert target_leaks(frames) == []


def test_a_test_file_sorted_by_a_free_text_target_is_found(home: Home) -> None:
    task = make_task(home, "text-sorted", kind="text", breakage="ordered_test_file")
    frames = load_task_frames(task.task_dir)
    assert frames.meta["classes"] is None
    assert order_correlations(frames)["test.file_order.target"][0] > 0.99  # sorted text: lexicographic ranks
    assert _failed(audit_task(frames, task.spec)) == {"order_correlation"}
    named = make_task(home, "text-named", kind="text", breakage="target_in_test")
    assert _failed(audit_task(load_task_frames(named.task_dir), named.spec)) == {"target_columns"}


def test_shared_ids_are_listed(home: Home) -> None:
    task = make_task(home, "shared", kind="binary", breakage="overlapping_ids")
    frames = load_task_frames(task.task_dir)
    finding = next(f for f in audit_task(frames, task.spec) if f.name == "shared_ids")
    assert finding.value == 10
    assert sorted(finding.details["examples"]) == sorted(str(v) for v in frames.train["id"].head(10).to_list())


def test_duplicate_share_is_reported_and_blocks_only_above_the_spec_threshold(home: Home) -> None:
    task = make_task(home, "dups", kind="binary", breakage="duplicated_rows")
    frames = load_task_frames(task.task_dir)
    finding = next(f for f in audit_task(frames, task.spec) if f.name == "duplicate_rows")
    private = frames.meta["rows"]["private"]
    assert finding.details["private_rows"] == private
    assert finding.details["private_duplicates"] == private // 3 + 1
    assert finding.value == pytest.approx((private // 3 + 1) / private, abs=1e-6)
    assert finding.threshold == 0.05 and not finding.passed
    lenient = fixture_spec("dups", "binary", leak={"max_duplicate_share": 0.5})
    assert next(f for f in audit_task(frames, lenient) if f.name == "duplicate_rows").passed
    clean = make_task(home, "clean", kind="binary")
    details = next(f for f in audit_task(load_task_frames(clean.task_dir), clean.spec) if f.name == "duplicate_rows")
    assert details.value == 0.0 and details.details["private_duplicates"] == 0


def test_order_correlation_names_where_the_order_leaks(home: Home) -> None:
    by_id = make_task(home, "by-id", kind="regression", breakage="ordered_ids")
    correlations = order_correlations(load_task_frames(by_id.task_dir))
    assert correlations["train.id_rank.target"][0] > 0.99
    assert correlations["test.id_rank.target"][0] > 0.99
    assert correlations["train.file_order.target"][0] < 0.3
    by_file = make_task(home, "by-file", kind="multiclass", breakage="ordered_test_file")
    correlations = order_correlations(load_task_frames(by_file.task_dir))
    assert correlations["test.file_order.target"][0] > 0.9
    assert correlations["test.id_rank.target"][0] < 0.3
    lenient = fixture_spec("by-file", "multiclass", leak={"max_order_correlation": 1.0})
    frames = load_task_frames(by_file.task_dir)
    assert next(f for f in audit_task(frames, lenient) if f.name == "order_correlation").passed


def test_file_order_of_a_time_split_is_reported_but_not_counted(home: Home) -> None:
    spec = fixture_spec("timed", "regression", split={"method": "time", "time_column": "n", "test_fraction": 0.25})
    task = make_task(home, "timed", kind="regression", breakage="ordered_test_file", spec=spec)
    finding = next(f for f in audit_task(load_task_frames(task.task_dir), spec) if f.name == "order_correlation")
    assert finding.details["associations"]["test.file_order.target"] > 0.9
    assert finding.passed and finding.details["not_counted"] == "file order of a time split"


def test_association_is_near_zero_by_chance_and_one_when_sorted() -> None:
    rng = np.random.default_rng(0)
    order = np.arange(3000, dtype=np.float64)
    numbers = pl.Series(rng.normal(size=3000))
    value, p_value = association(order, numbers, categorical=False)
    assert value < 0.06 and p_value > 1e-3
    value, p_value = association(order, numbers.sort(), categorical=False)
    assert value == pytest.approx(1.0) and p_value < 1e-12
    # Many small classes: the correlation ratio would be ~0.4 by chance alone; adjusted, it is near zero.
    labels = pl.Series(rng.integers(0, 500, size=3000).astype(str))
    value, p_value = association(order, labels, categorical=True)
    assert value < 0.1 and p_value > 1e-3
    value, p_value = association(order, labels.sort(), categorical=True)
    assert value > 0.99 and p_value < 1e-12
    # Labels nearly as many as rows cannot be grouped: their own order is compared instead.
    names = pl.Series([f"name-{i:05d}" for i in rng.permutation(3000)])
    assert association(order, names, categorical=True)[0] < 0.06
    assert association(order, names.sort(), categorical=True)[0] == pytest.approx(1.0)
    # Small tasks: a noisy association above the threshold is not significant, so it does not block.
    small = association(np.arange(20, dtype=np.float64), pl.Series(rng.normal(size=20)), categorical=False)
    assert small[1] > 1e-3


def test_board_sizes_check_counts_against_task_json_and_the_fraction(home: Home) -> None:
    task = make_task(home, "boards", kind="binary", breakage="empty_private_board")
    finding = next(f for f in audit_task(load_task_frames(task.task_dir), task.spec) if f.name == "board_sizes")
    assert finding.details["private"] == 0
    assert "empty board: public=100, private=0" in finding.details["problems"]
    good = make_task(home, "good-boards", kind="binary")
    finding = next(f for f in audit_task(load_task_frames(good.task_dir), good.spec) if f.name == "board_sizes")
    assert (finding.details["public"], finding.details["private"]) == (50, 50)
    assert finding.details["problems"] == []


@pytest.mark.parametrize("kind", [*KINDS, "text"])
def test_good_fixture_passes_every_attack(home: Home, kind: str) -> None:
    task = make_task(home, f"good-{kind}", kind=kind)
    findings = attack_task(load_task_frames(task.task_dir), task.spec)
    assert [f.name for f in findings] == list(ATTACK_CHECKS)
    assert _failed(findings) == set(), [f.details for f in findings if not f.passed]
    skipped = {f.name: f.details.get("skipped") for f in findings}
    assert skipped["source_join"] == "source kind synthetic, not builtin"
    assert (skipped["id_model"] is not None) == (kind == "text")  # no model predicts free text from an id


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("breakage", sorted(LEAKS))
def test_only_ids_in_target_order_fail_an_attack_among_the_audit_breakages(
    home: Home, kind: str, breakage: str
) -> None:
    task = make_task(home, "leaky", kind=kind, breakage=breakage)
    findings = attack_task(load_task_frames(task.task_dir), task.spec)
    # Ids assigned in target order encode the label: the id model finds it as well as the order check.
    assert _failed(findings) == ({"id_model"} if breakage == "ordered_ids" else set())
