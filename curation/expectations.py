"""Great Expectations suites derived from a competition's spec and its task.json, validated in memory.

The suites are plain data first (`derive_expectations`), so what is expected can be read and tested
without GX; `validate_task` then runs them with GX 1.x on pandas frames of an ephemeral context.
Frames are validated in memory because GX's SQL path does not work on DuckDB out of the box.

GX is imported lazily: importing it takes seconds, and the runtime and the release code must not pay it.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curation.spec import CompetitionSpec
from curation.task_frames import TaskFrames, column_kind, dtype_from_name, load_task_frames, size_tolerance

# Tables a suite runs on; "ids" is a derived table aligning the ids of test, sample submission and answers.
SUITE_TABLES = ("train", "test", "sample_submission", "answers", "ids")
BOARDS = ["public", "private"]
EXAMPLES = 10  # unexpected values kept per expectation: enough to see the problem, small enough for metadata
# Beyond this many labels an in-set expectation gets slow in GX (it copies its arguments per metric).
MAX_DOMAIN_CLASSES = 2_000

# pandas dtypes GX sees for each kind once `_gx_frame` has normalized a polars frame.
_NUMERIC_TYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
]
KIND_TYPE_LISTS: dict[str, list[str]] = {
    "numeric": _NUMERIC_TYPES,
    # Strings are handed to GX as object columns, whose values GX checks one by one against `str`.
    "string": ["str"],
    "boolean": ["bool"],
    "temporal": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
}


@dataclass(frozen=True)
class Expectation:
    """One GX expectation on one table: our name for it, the GX class name and its keyword arguments."""

    name: str  # "<table>.<what>", e.g. "test.id.unique"; unique within a task
    table: str  # one of SUITE_TABLES
    gx_type: str  # class in great_expectations.expectations, e.g. "ExpectColumnValuesToBeUnique"
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation: success, what was observed, how many values were unexpected."""

    name: str
    table: str
    expectation: str  # GX's snake_case type, e.g. "expect_column_values_to_be_unique"
    success: bool
    observed_value: Any
    unexpected_count: int | None
    examples: list[Any] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ExpectationReport:
    """Every expectation outcome of one task, and the seconds spent validating each table."""

    slug: str
    task_version: str
    outcomes: tuple[ExpectationOutcome, ...]
    seconds: dict[str, float]

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    def failures(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    def for_table(self, table: str) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if outcome.table == table]

    def outcome(self, name: str) -> ExpectationOutcome:
        for outcome in self.outcomes:
            if outcome.name == name:
                return outcome
        raise KeyError(f"no expectation named {name!r}; names: {[o.name for o in self.outcomes]}")


def _pinned_kinds(spec: CompetitionSpec) -> dict[str, str]:
    """Kinds of the columns whose dtype the spec pins in `schema`."""
    if not spec.schema_:
        return {}
    return {
        column: column_kind(dtype_from_name(name, f"{spec.slug}: schema.{column}"))
        for column, name in spec.schema_.items()
        if column not in spec.drop_columns
    }


def _kinds(frame: pl.DataFrame) -> dict[str, str]:
    return {name: column_kind(dtype) for name, dtype in frame.schema.items()}


def _type_expectation(table: str, column: str, kind: str, frame: pl.DataFrame) -> Expectation | None:
    """A type expectation for `kind`, or None when the kind has no GX type list or the column is all null."""
    if kind not in KIND_TYPE_LISTS or column not in frame.columns or frame[column].null_count() == frame.height:
        return None
    return Expectation(
        f"{table}.{column}.type_{kind}",
        table,
        "ExpectColumnValuesToBeInTypeList",
        {"column": column, "type_list": KIND_TYPE_LISTS[kind]},
    )


def _id_expectations(table: str, id_column: str, frame: pl.DataFrame, rows: int) -> list[Expectation]:
    """Row count equal to task.json's; ids present and unique."""
    found = [Expectation(f"{table}.rows", table, "ExpectTableRowCountToEqual", {"value": rows})]
    if id_column in frame.columns:
        found += [
            Expectation(f"{table}.id.not_null", table, "ExpectColumnValuesToNotBeNull", {"column": id_column}),
            Expectation(f"{table}.id.unique", table, "ExpectColumnValuesToBeUnique", {"column": id_column}),
        ]
    return found


def _labels(series: pl.Series) -> list[Any]:
    """Distinct non-null values, sorted, as Python values."""
    return series.drop_nulls().unique().sort().to_list()


def _domain_expectations(frames: TaskFrames, column: str) -> list[Expectation]:
    """Answers' target values lie in what train shows: its labels, or its numeric range widened by its span."""
    train, answers = frames.train, frames.answers
    if column not in train.columns or column not in answers.columns:
        return []
    if frames.target_is_categorical(column):
        labels = _labels(train[column])
        if not labels or len(labels) > MAX_DOMAIN_CLASSES:
            return []
        return [
            Expectation(
                f"answers.{column}.in_train_classes",
                "answers",
                "ExpectColumnValuesToBeInSet",
                {"column": column, "value_set": labels},
            )
        ]
    if column_kind(train.schema[column]) != "numeric":
        return []
    values = train[column].cast(pl.Float64).drop_nulls().to_numpy()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    low, high = float(values.min()), float(values.max())
    # Test targets may pass train's extremes a little; a value a whole span beyond is a unit or sentinel bug.
    span = high - low if high > low else max(abs(low), 1.0)
    return [
        Expectation(
            f"answers.{column}.in_train_range",
            "answers",
            "ExpectColumnValuesToBeBetween",
            {"column": column, "min_value": low - span, "max_value": high + span},
        )
    ]


def _split_size_expectation(frames: TaskFrames) -> Expectation:
    """Test rows are the configured fraction of all labeled rows, within the split method's slack."""
    split = frames.meta["split"]
    n = frames.train.height + frames.test.height
    expected = round(n * float(split["test_fraction"]))
    largest_group = 0
    group_column = split.get("group_column")
    if split.get("method") == "group" and group_column in frames.train.columns and group_column in frames.test.columns:
        # As text: a column can read as numbers in one file and as text in the other (a type expectation's job).
        groups = pl.concat(
            [frame.select(pl.col(group_column).cast(pl.String)) for frame in (frames.train, frames.test)]
        )
        largest_group = int(groups[group_column].value_counts()["count"].max() or 0)
    slack = size_tolerance(n, split.get("method", "random"), largest_group)
    return Expectation(
        "test.rows_match_test_fraction",
        "test",
        "ExpectTableRowCountToBeBetween",
        {"min_value": max(1, expected - slack), "max_value": min(n - 1, expected + slack)},
    )


def derive_expectations(frames: TaskFrames, spec: CompetitionSpec) -> list[Expectation]:
    """The suites of one task, from its spec, task.json and the train table as the reference for types and domains.

    - every file: its columns, non-null unique ids, row count equal to task.json's;
    - test, answers and sample submission: column kinds equal to train's (or to the spec's pinned schema);
    - answers: targets non-null and in the domain train shows; boards named public/private;
    - test: size within the split's configured fraction;
    - sample submission: prediction columns non-null (probabilities in [0, 1]);
    - ids: test, sample submission and answers hold the same ids.
    """
    meta = frames.meta
    id_column, targets = frames.id_column, frames.target_columns
    rows = meta["rows"]
    train, test, sample, answers = frames.train, frames.test, frames.sample_submission, frames.answers
    train_kinds = _kinds(train) | {c: k for c, k in _pinned_kinds(spec).items() if c in train.columns}
    expected: list[Expectation] = []

    # train: holds the id, every target and the pinned columns; the pinned columns have their pinned kind.
    required = [id_column, *targets, *(c for c in _pinned_kinds(spec) if c not in targets and c != id_column)]
    expected.append(
        Expectation(
            "train.columns", "train", "ExpectTableColumnsToMatchSet", {"column_set": required, "exact_match": False}
        )
    )
    expected += _id_expectations("train", id_column, train, rows["train"])
    for column, kind in _pinned_kinds(spec).items():
        found = _type_expectation("train", column, kind, train)
        expected += [found] if found else []

    # test: train's columns without the targets, in train's order, with train's kinds.
    test_columns = [c for c in train.columns if c not in targets]
    expected.append(
        Expectation("test.columns", "test", "ExpectTableColumnsToMatchOrderedList", {"column_list": test_columns})
    )
    expected += _id_expectations("test", id_column, test, rows["test"])
    expected.append(_split_size_expectation(frames))
    for column in test.columns:
        if column in train_kinds:
            found = _type_expectation("test", column, train_kinds[column], test)
            expected += [found] if found else []

    # sample submission: the id and the prediction columns, in that order, complete and valid.
    predictions = frames.prediction_columns
    expected.append(
        Expectation(
            "sample_submission.columns",
            "sample_submission",
            "ExpectTableColumnsToMatchOrderedList",
            {"column_list": [id_column, *predictions]},
        )
    )
    expected += _id_expectations("sample_submission", id_column, sample, rows["test"])
    probabilities = meta["submission_format"] == "class_probabilities"
    for column in predictions:
        if column not in sample.columns:
            continue
        expected.append(
            Expectation(
                f"sample_submission.{column}.not_null",
                "sample_submission",
                "ExpectColumnValuesToNotBeNull",
                {"column": column},
            )
        )
        kind = "numeric" if probabilities else train_kinds.get(column)
        found = _type_expectation("sample_submission", column, kind or "", sample) if kind else None
        expected += [found] if found else []
        if probabilities:
            expected.append(
                Expectation(
                    f"sample_submission.{column}.probability",
                    "sample_submission",
                    "ExpectColumnValuesToBeBetween",
                    {"column": column, "min_value": 0.0, "max_value": 1.0},
                )
            )
    found = _type_expectation("sample_submission", id_column, train_kinds.get(id_column, ""), sample)
    expected += [found] if found else []

    # answers: id, targets and board; targets complete, of train's kind and in train's domain.
    expected.append(
        Expectation(
            "answers.columns",
            "answers",
            "ExpectTableColumnsToMatchSet",
            {"column_set": [id_column, *targets, "board"], "exact_match": True},
        )
    )
    expected += _id_expectations("answers", id_column, answers, rows["test"])
    if "board" in answers.columns:
        expected.append(
            Expectation(
                "answers.board.values",
                "answers",
                "ExpectColumnValuesToBeInSet",
                {"column": "board", "value_set": BOARDS},
            )
        )
        expected.append(
            Expectation("answers.board.not_null", "answers", "ExpectColumnValuesToNotBeNull", {"column": "board"})
        )
    for column in (id_column, *targets):
        found = _type_expectation("answers", column, train_kinds.get(column, ""), answers)
        expected += [found] if found else []
    for column in targets:
        if column in answers.columns:
            expected.append(
                Expectation(
                    f"answers.{column}.not_null", "answers", "ExpectColumnValuesToNotBeNull", {"column": column}
                )
            )
        expected += _domain_expectations(frames, column)

    # ids: every id of test, sample submission and answers is in the other two.
    for present in ("test", "sample_submission", "answers"):
        expected.append(Expectation(f"ids.in_{present}", "ids", "ExpectColumnValuesToNotBeNull", {"column": present}))
    return expected


def id_alignment(frames: TaskFrames) -> pl.DataFrame:
    """One row per distinct id of test, sample submission or answers; a column per file holding the id if present.

    Ids are compared as text: whether their types agree is a type expectation of its own.
    """
    id_column = frames.id_column
    present = {}
    for name in ("test", "sample_submission", "answers"):
        frame = frames.table(name)
        ids = frame[id_column].cast(pl.String) if id_column in frame.columns else pl.Series(id_column, [], pl.String)
        present[name] = ids.drop_nulls().unique().sort()
    keys = pl.concat(list(present.values())).unique().sort()
    aligned = pl.DataFrame({"id": keys})
    for name, ids in present.items():
        aligned = aligned.join(pl.DataFrame({"id": ids, name: ids}), on="id", how="left", maintain_order="left")
    return aligned


def _gx_frame(frame: pl.DataFrame):
    """A pandas frame GX can type-check: categoricals and decimals normalized, strings as object columns.

    pandas 3 reads text into its `str` dtype, which GX 1.24's type lists cannot name; as object
    columns GX checks each value's Python type instead.
    """
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Categorical or isinstance(dtype, pl.Enum):
            casts.append(pl.col(name).cast(pl.String))
        elif isinstance(dtype, pl.Decimal):
            casts.append(pl.col(name).cast(pl.Float64))
    if casts:
        frame = frame.with_columns(casts)
    pandas_frame = frame.to_pandas()
    for name in pandas_frame.columns:
        if str(pandas_frame[name].dtype) in ("str", "string"):
            pandas_frame[name] = pandas_frame[name].astype(object)
    return pandas_frame


@functools.cache
def _batch_definition():
    """One ephemeral GX context with a pandas dataframe asset, made once per process (GX's import alone takes ~7 s)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # Progress bars would print a line per metric batch into every Dagster log.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("dojo_tasks").add_dataframe_asset("task_table")
    return asset.add_batch_definition_whole_dataframe("whole_table")


def _plain(value: Any) -> Any:
    """JSON-friendly form of a GX observed value: numpy scalars unwrapped, NaN as None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _outcome(expectation: Expectation, result: Any) -> ExpectationOutcome:
    details = result.result or {}
    info = result.exception_info or {}
    error = info.get("exception_message") if info.get("raised_exception") else None
    if "observed_value" in details:
        observed = _plain(details["observed_value"])
    elif "element_count" in details:
        observed = f"{details.get('unexpected_count', 0)} of {details['element_count']} values unexpected"
    else:
        observed = None
    if expectation.table == "ids":
        examples = [row.get("id") for row in details.get("partial_unexpected_index_list") or []]
    else:
        examples = details.get("partial_unexpected_list") or []
    count = details.get("unexpected_count")
    return ExpectationOutcome(
        name=expectation.name,
        table=expectation.table,
        expectation=result.expectation_config.type,
        success=bool(result.success) and error is None,
        observed_value=observed,
        unexpected_count=int(count) if count is not None else None,
        examples=_plain(list(examples)[:EXAMPLES]),
        error=error,
    )


def validate_frames(frames: TaskFrames, expectations: Sequence[Expectation]) -> ExpectationReport:
    """Run the expectations with GX, one batch per table, and collect an outcome per expectation."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    batch_definition = _batch_definition()
    outcomes: list[ExpectationOutcome] = []
    seconds: dict[str, float] = {}
    for table in SUITE_TABLES:
        planned = [e for e in expectations if e.table == table]
        if not planned:
            continue
        started = time.perf_counter()
        frame = id_alignment(frames) if table == "ids" else frames.table(table)
        suite = gx.ExpectationSuite(name=f"{frames.meta['slug']}.{table}")
        by_name = {}
        for expectation in planned:
            suite.add_expectation(
                getattr(gxe, expectation.gx_type)(**expectation.kwargs, meta={"name": expectation.name})
            )
            by_name[expectation.name] = expectation
        result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
        if table == "ids":
            result_format["unexpected_index_column_names"] = ["id"]
        batch = batch_definition.get_batch(batch_parameters={"dataframe": _gx_frame(frame)})
        validation = batch.validate(suite, result_format=result_format)
        for result in validation.results:
            outcomes.append(_outcome(by_name[result.expectation_config.meta["name"]], result))
        seconds[table] = time.perf_counter() - started
    order = {e.name: i for i, e in enumerate(expectations)}
    outcomes.sort(key=lambda outcome: order[outcome.name])
    return ExpectationReport(
        slug=frames.meta["slug"], task_version=frames.meta["task_version"], outcomes=tuple(outcomes), seconds=seconds
    )


def validate_task(task_dir: Path, spec: CompetitionSpec, frames: TaskFrames | None = None) -> ExpectationReport:
    """Derive the suites of a built task and validate them; `frames` saves a reload when the caller has them."""
    frames = frames or load_task_frames(task_dir)
    return validate_frames(frames, derive_expectations(frames, spec))
