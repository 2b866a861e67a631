"""GX suites derived from spec + task.json: each expectation passes on good tasks and fails on its broken fixture."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from release_fixtures import HARMLESS, fixture_spec, make_task, replace_public_table

from curation.checks import CHECKS_FILE, TASK_CHECKS, check_task, read_checks, run_task_checks
from curation.expectations import _batch_definition, derive_expectations, validate_task
from curation.layout import Home
from curation.spec import COMPETITIONS_DIR, load_spec
from curation.task_frames import TaskFilesError, load_task_frames

KINDS = ("binary", "multiclass", "regression")

# breakage -> the expectations that must fail, exactly (the others pass). Some breakages have a consequence
# elsewhere that is a failure in its own right: a null or repeated test id leaves the sample submission
# (one row per distinct test id) a row short and the ids of the three files unaligned.
EXPECTED_FAILURES = {
    "target_in_test": {"test.columns"},
    "null_ids": {"test.id.not_null", "sample_submission.rows", "ids.in_test", "ids.in_sample_submission"},
    "duplicate_ids": {"test.id.unique", "sample_submission.rows", "ids.in_test", "ids.in_sample_submission"},
    "missing_feature": {"test.columns"},
    "type_mismatch": {"test.n.type_numeric"},
    "null_target": {"answers.target.not_null"},
    "sample_ids_mismatch": {"ids.in_test", "ids.in_sample_submission", "ids.in_answers"},
    "wrong_row_count": {"train.rows"},
    "wrong_test_fraction": {"test.rows_match_test_fraction"},
}


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "dojo-home")


@pytest.mark.parametrize("kind", KINDS)
def test_good_fixture_passes_every_expectation(home: Home, kind: str) -> None:
    task = make_task(home, f"good-{kind}", kind=kind)
    report = validate_task(task.task_dir, task.spec)
    assert report.failures() == []
    assert report.success
    names = {outcome.name for outcome in report.outcomes}
    # The suite covers every file and what the spec and task.json promise about it.
    for name in (
        "train.columns",
        "train.id.unique",
        "test.columns",
        "test.rows_match_test_fraction",
        "test.x0.type_numeric",
        "test.color.type_string",
        "sample_submission.columns",
        "answers.columns",
        "answers.board.values",
        "answers.target.not_null",
        "ids.in_test",
        "ids.in_sample_submission",
        "ids.in_answers",
    ):
        assert name in names
    domain = "answers.target.in_train_range" if kind == "regression" else "answers.target.in_train_classes"
    assert domain in names
    assert set(report.seconds) == {"train", "test", "sample_submission", "answers", "ids"}


def test_free_text_targets_have_no_label_domain(home: Home) -> None:
    task = make_task(home, "text", kind="text")
    report = validate_task(task.task_dir, task.spec)
    assert report.success
    names = {outcome.name for outcome in report.outcomes}
    assert "answers.target.not_null" in names and "answers.target.type_string" in names
    assert not any(name.startswith("answers.target.in_train") for name in names)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("breakage", sorted(EXPECTED_FAILURES))
def test_broken_fixture_fails_its_expectations(home: Home, kind: str, breakage: str) -> None:
    task = make_task(home, "broken", kind=kind, breakage=breakage)
    report = validate_task(task.task_dir, task.spec)
    assert {outcome.name for outcome in report.failures()} == EXPECTED_FAILURES[breakage]


@pytest.mark.parametrize("difference", sorted(HARMLESS))
def test_differences_of_csv_type_inference_pass(home: Home, difference: str) -> None:
    task = make_task(home, "inferred", kind="regression", breakage=difference)
    frames = load_task_frames(task.task_dir)
    assert frames.train.schema["n"] == frames.test.schema["n"]  # one dtype across the task's tables
    assert check_task(task.task_dir, task.spec).passed
    # Read file by file, the column really differs: what the unification is there for.
    assert (
        pl.read_csv(task.task_dir / "public" / "train.csv")["n"].dtype
        != pl.read_csv(task.task_dir / "public" / "test.csv")["n"].dtype
    )


def test_text_that_is_not_numbers_is_a_type_mismatch_all_the_same(home: Home) -> None:
    task = make_task(home, "mismatch", kind="regression", breakage="type_mismatch")
    frames = load_task_frames(task.task_dir)
    assert (frames.train.schema["n"], frames.test.schema["n"]) == (pl.Int64, pl.String)
    assert not check_task(task.task_dir, task.spec).passed


@pytest.mark.parametrize(
    ("kind", "breakage", "failing"),
    [
        ("binary", "unseen_class", "answers.target.in_train_classes"),
        ("multiclass", "unseen_class", "answers.target.in_train_classes"),
        ("regression", "out_of_range", "answers.target.in_train_range"),
        ("multiclass", "bad_probability", "sample_submission.high.probability"),
    ],
)
def test_domain_expectations_fail_outside_the_domain(home: Home, kind: str, breakage: str, failing: str) -> None:
    task = make_task(home, "domain", kind=kind, breakage=breakage)
    report = validate_task(task.task_dir, task.spec)
    assert [outcome.name for outcome in report.failures()] == [failing]
    outcome = report.outcome(failing)
    assert outcome.unexpected_count == 1
    assert len(outcome.examples) == 1


def test_outcomes_carry_observed_values_and_unexpected_examples(home: Home) -> None:
    task = make_task(home, "ids", kind="binary", breakage="sample_ids_mismatch")
    report = validate_task(task.task_dir, task.spec)
    frames = load_task_frames(task.task_dir)
    bogus = sorted(str(v) for v in frames.sample_submission["id"].head(3).to_list())
    missing = report.outcome("ids.in_test")
    assert missing.unexpected_count == 3
    assert sorted(missing.examples) == bogus
    assert missing.expectation == "expect_column_values_to_not_be_null"
    # Table-level expectations report what they saw.
    rows = report.outcome("test.rows")
    assert rows.success and rows.observed_value == frames.test.height and rows.unexpected_count is None
    typed = make_task(home, "typed", kind="binary", breakage="type_mismatch")
    outcome = validate_task(typed.task_dir, typed.spec).outcome("test.n.type_numeric")
    assert not outcome.success and outcome.unexpected_count == frames.test.height
    assert all(str(value).startswith("n") for value in outcome.examples)


def test_pinned_schema_types_train_columns(home: Home) -> None:
    spec = fixture_spec("pinned", "binary", schema={"n": "String", "x0": "Float64", "color": "String"})
    task = make_task(home, "pinned", kind="binary", spec=spec)
    report = validate_task(task.task_dir, task.spec)
    # The pinned kind is also the reference for test, whose integer `n` is not text either.
    assert [outcome.name for outcome in report.failures()] == ["train.n.type_string", "test.n.type_string"]
    assert report.outcome("train.x0.type_numeric").success
    assert report.outcome("train.color.type_string").success


def test_pinned_schema_with_an_unknown_dtype_is_a_clear_error(home: Home) -> None:
    spec = fixture_spec("pinned-bad", "binary", schema={"n": "Integer64"})
    task = make_task(home, "pinned-bad", kind="binary", spec=spec)
    with pytest.raises(ValueError, match=r"pinned-bad: schema\.n: 'Integer64' is not a polars dtype"):
        derive_expectations(load_task_frames(task.task_dir), spec)


def test_missing_task_files_name_the_file(home: Home) -> None:
    task = make_task(home, "gone", kind="binary")
    (task.task_dir / "public" / "test.csv").unlink()
    with pytest.raises(TaskFilesError, match=r"gone test: .*public/test\.csv: file not found"):
        load_task_frames(task.task_dir)
    with pytest.raises(TaskFilesError, match=r"task\.json: not found"):
        load_task_frames(home.root)
    # The checks still report on every named check instead of raising.
    outcomes = check_task(task.task_dir, task.spec).outcomes
    assert [o.name for o in outcomes] == list(TASK_CHECKS)
    failed = {o.name for o in outcomes if not o.passed}
    assert "task_files_intact" in failed and "gx_test" in failed and "leak_shared_ids" in failed


def test_a_test_file_without_ids_fails_the_checks_instead_of_stopping_them(home: Home) -> None:
    task = make_task(home, "no-ids", kind="binary")
    frames = load_task_frames(task.task_dir)
    replace_public_table(task, "test.csv", frames.test.drop("id"), role="test")
    outcomes = {o.name: o for o in check_task(task.task_dir, task.spec).outcomes}
    assert list(outcomes) == list(TASK_CHECKS)
    assert outcomes["gx_test"].metadata["failed"] == ["test.columns"]
    assert not outcomes["gx_ids"].passed
    assert "cannot audit: ColumnNotFoundError" in outcomes["leak_duplicate_rows"].metadata["error"]
    assert outcomes["task_files_intact"].passed


def test_gx_context_is_built_once_and_validation_is_quiet(home: Home, capfd: pytest.CaptureFixture[str]) -> None:
    assert _batch_definition() is _batch_definition()
    task = make_task(home, "quiet", kind="multiclass")
    capfd.readouterr()
    validate_task(task.task_dir, task.spec)
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out


@pytest.mark.parametrize("kind", KINDS)
def test_run_task_checks_writes_a_deterministic_checks_json(home: Home, kind: str) -> None:
    task = make_task(home, f"record-{kind}", kind=kind)
    outcomes = run_task_checks(task.task_dir, task.spec)
    assert [o.name for o in outcomes] == list(TASK_CHECKS)
    assert all(o.passed and o.blocking for o in outcomes)
    first = (task.task_dir / CHECKS_FILE).read_bytes()
    run_task_checks(task.task_dir, task.spec)
    assert (task.task_dir / CHECKS_FILE).read_bytes() == first
    record = read_checks(task.task_dir)
    assert record["passed"] and record["blocking_failures"] == []
    assert record["task_version"] == task.version and record["spec_sha256"] == task.spec.content_hash()
    gx_test = next(c for c in record["checks"] if c["name"] == "gx_test")
    assert gx_test["metadata"]["results"]["test.id.unique"]["success"] is True
    assert "seconds" not in json.dumps(record)


def test_checks_json_records_blocking_failures(home: Home) -> None:
    task = make_task(home, "stale", kind="binary", breakage="stale_spec")
    run_task_checks(task.task_dir, task.spec)
    record = read_checks(task.task_dir)
    assert not record["passed"]
    assert record["blocking_failures"] == ["task_matches_spec"]
    tampered = make_task(home, "tampered", kind="binary", breakage="tampered_file")
    outcome = next(o for o in run_task_checks(tampered.task_dir, tampered.spec) if o.name == "task_files_intact")
    assert not outcome.passed
    assert outcome.metadata["problems"] == ["public/test.csv: content differs from its recorded sha256"]


REAL_TASKS = ("wine-cultivar", "penguins-species", "diabetes-progression")


@pytest.fixture(scope="module")
def real_tasks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three offline competitions built with the lead's task builder (no leaderboard, no Dagster run)."""
    from assets.task import build
    from curation.secret import salt
    from curation.sources import fetch_raw

    home = Home(tmp_path_factory.mktemp("real") / "dojo-home")
    built = {}
    for slug in REAL_TASKS:
        spec = load_spec(COMPETITIONS_DIR / f"{slug}.yaml")
        raw = fetch_raw(spec, home.raw_dir(slug), salt=salt(home), spec_dir=COMPETITIONS_DIR)
        built[slug] = build(spec, home, raw=raw).task_dir
    return built


@pytest.mark.parametrize("slug", REAL_TASKS)
def test_real_offline_tasks_pass_every_check(real_tasks: dict[str, Path], slug: str) -> None:
    spec = load_spec(COMPETITIONS_DIR / f"{slug}.yaml")
    run = check_task(real_tasks[slug], spec)
    failed = {o.name: o.metadata for o in run.outcomes if not o.passed}
    assert failed == {}
    assert run.expectations is not None and len(run.expectations.outcomes) >= 20
