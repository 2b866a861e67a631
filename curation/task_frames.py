"""A built task's tables, loaded once and shared by the expectation suites and the leak audit."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from curation.sources import SourceError, read_table

# task.json keys every check relies on (see contracts.md, "On-disk task").
REQUIRED_META_KEYS = (
    "slug",
    "task_version",
    "spec_sha256",
    "task_type",
    "id_column",
    "target_columns",
    "prediction_columns",
    "submission_format",
    "classes",
    "split",
    "rows",
    "files",
)
TABLE_ROLES = ("train", "test", "sample_submission", "answers")
DEFAULT_PATHS = {
    "train": "public/train.csv",
    "test": "public/test.csv",
    "sample_submission": "public/sample_submission.csv",
    "answers": "private/answers.parquet",
}
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")
# A text column whose distinct values are numbers at least this often is numbers with a few codes ("136A").
NUMERIC_TEXT_SHARE = 0.9
# Task types whose targets are labels, whatever their dtype: their domain is a set, not a range.
CATEGORICAL_TASK_TYPES = frozenset(
    {"binary", "multiclass", "multilabel", "text_classification", "image_classification", "rating"}
)


class TaskFilesError(Exception):
    """A task directory that cannot be checked at all: missing or unreadable task.json or table."""


@dataclass(frozen=True)
class TaskFrames:
    """The task's task.json and its four tables (plus any extra public tables) as polars frames."""

    task_dir: Path
    meta: dict
    train: pl.DataFrame
    test: pl.DataFrame
    sample_submission: pl.DataFrame
    answers: pl.DataFrame
    paths: dict[str, str]  # role -> path relative to task_dir
    extras: dict[str, pl.DataFrame] = field(default_factory=dict)  # relative path -> extra public table

    @property
    def id_column(self) -> str:
        return self.meta["id_column"]

    @property
    def target_columns(self) -> list[str]:
        return list(self.meta["target_columns"])

    @property
    def prediction_columns(self) -> list[str]:
        return list(self.meta["prediction_columns"])

    @property
    def feature_columns(self) -> list[str]:
        """Columns of public test besides the id: what an agent predicts from."""
        return [c for c in self.test.columns if c != self.id_column]

    def table(self, role: str) -> pl.DataFrame:
        return getattr(self, role)

    def target_is_categorical(self, column: str) -> bool:
        """True when a target's values are labels (its domain is the set seen in train), not numbers or free text."""
        if self.meta.get("classes") is not None or self.meta["task_type"] in CATEGORICAL_TASK_TYPES:
            return True
        return column_kind(self.train.schema.get(column, pl.Null)) == "boolean"


def column_kind(dtype: pl.DataType) -> str:
    """The kind of a column that must agree across files: numeric, string, boolean, temporal, null or other.

    Integers and floats are one kind: a column with a missing value reads as float in one file and
    as integer in another, and both are the same data.
    """
    if dtype == pl.Null:
        return "null"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "numeric"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "string"
    if dtype == pl.Date or (isinstance(dtype, pl.Datetime) and dtype.time_zone is None):
        return "temporal"
    return "other"


def dtype_from_name(name: str, where: str) -> pl.DataType:
    """A polars dtype from its name in a spec's `schema` ("Int64", "String", ...)."""
    dtype = getattr(pl, name, None)
    if dtype is None or not (
        isinstance(dtype, pl.DataType) or (isinstance(dtype, type) and issubclass(dtype, pl.DataType))
    ):
        raise ValueError(f"{where}: {name!r} is not a polars dtype name (e.g. Int64, Float64, String, Boolean, Date)")
    return dtype() if isinstance(dtype, type) else dtype


def size_tolerance(n: int, method: str, largest_group: int = 0) -> int:
    """Allowed distance between an observed split size and fraction * n.

    The split takes round(n * fraction) rows exactly (per stratum for stratified splits), so the
    slack is small; group splits move whole groups, so a few large groups can shift it much more.
    """
    slack = max(2, math.ceil(0.02 * n))
    if method == "group":
        slack = max(slack, math.ceil(0.1 * n), 3 * largest_group)
    return slack


def _numeric_text(series: pl.Series) -> bool:
    """Text that is numbers but for a few codes: at least NUMERIC_TEXT_SHARE of its distinct values parse."""
    values = series.drop_nulls().unique()
    if values.len() == 0:
        return True
    parsed = values.cast(pl.Float64, strict=False).is_not_null().sum()
    return parsed >= NUMERIC_TEXT_SHARE * values.len()


def unify_inferred_types(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Give a column one dtype across a task's tables where the difference is only CSV type inference.

    CSV types are inferred file by file, so the same data can read differently: integers in one file and
    floats in another (made floats everywhere), or codes like "136A" that happen to occur in train only,
    so train reads as text and test as numbers (made text everywhere). Any other difference, such as
    text that is not numbers against numbers, is left for the type expectations to report.
    """
    columns = sorted({c for frame in tables.values() for c in frame.columns})
    for column in columns:
        holding = {role: frame for role, frame in tables.items() if column in frame.columns}
        kinds = {column_kind(frame.schema[column]) for frame in holding.values()} - {"null"}
        dtypes = {frame.schema[column] for frame in holding.values() if frame.schema[column] != pl.Null}
        if len(dtypes) < 2:
            continue
        if kinds == {"numeric"}:
            target: pl.DataType = pl.Float64()
        elif kinds == {"numeric", "string"} and all(
            _numeric_text(frame[column]) for frame in holding.values() if column_kind(frame.schema[column]) == "string"
        ):
            target = pl.String()
        else:
            continue
        tables = tables | {role: frame.with_columns(pl.col(column).cast(target)) for role, frame in holding.items()}
    return tables


def load_task_meta(task_dir: Path) -> dict:
    """task.json of a task dir, with the keys every check needs."""
    path = task_dir / "task.json"
    if not path.is_file():
        raise TaskFilesError(f"{path}: not found (is {task_dir} a built task?)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaskFilesError(f"{path}: unreadable: {exc}") from exc
    if not isinstance(meta, dict):
        raise TaskFilesError(f"{path}: expected a JSON object")
    missing = [key for key in REQUIRED_META_KEYS if key not in meta]
    if missing:
        raise TaskFilesError(f"{path}: missing keys {missing}")
    return meta


def _role_paths(meta: dict) -> dict[str, str]:
    paths = dict(DEFAULT_PATHS)
    for entry in meta["files"]:
        if entry.get("role") in TABLE_ROLES:
            paths[entry["role"]] = entry["path"]
    return paths


def _extra_tables(task_dir: Path, meta: dict) -> dict[str, pl.DataFrame]:
    """Every CSV/Parquet table among the extra public files (a file entry or the files of a dir entry)."""
    tables: dict[str, pl.DataFrame] = {}
    for entry in meta["files"]:
        if entry.get("role") != "extra":
            continue
        path = task_dir / entry["path"]
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.suffix in TABLE_SUFFIXES and candidate.is_file():
                try:
                    tables[candidate.relative_to(task_dir).as_posix()] = read_table(candidate)
                except SourceError as exc:
                    raise TaskFilesError(str(exc)) from exc
    return tables


def load_task_frames(task_dir: Path) -> TaskFrames:
    """Read task.json and the task's tables; TaskFilesError names the file that is missing or unreadable."""
    task_dir = Path(task_dir)
    meta = load_task_meta(task_dir)
    paths = _role_paths(meta)
    tables: dict[str, pl.DataFrame] = {}
    for role in TABLE_ROLES:
        try:
            tables[role] = read_table(task_dir / paths[role])
        except SourceError as exc:
            raise TaskFilesError(f"{meta['slug']} {role}: {exc}") from exc
    tables = unify_inferred_types(tables)
    return TaskFrames(task_dir=task_dir, meta=meta, paths=paths, extras=_extra_tables(task_dir, meta), **tables)
