"""Competitions whose labeled rows ship as JSON (a list of objects, or one object per line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file
from curation.spec import CompetitionSpec


def load_records(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSON array file or of a JSON-lines file, checked to be objects."""
    text = path.read_text(encoding="utf-8")
    try:
        loaded = json.loads(text)
        records = loaded if isinstance(loaded, list) else [loaded]
    except json.JSONDecodeError:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RawDataError(f"{path}:{number}: neither a JSON array nor JSON lines: {exc}") from exc
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise RawDataError(f"{path}: record {bad} is not a JSON object")
    if not records:
        raise RawDataError(f"{path}: no records")
    return records


def _cell(value: Any) -> Any:
    """Lists and objects become JSON text so a CSV cell can hold them."""
    return json.dumps(value, separators=(",", ":")) if isinstance(value, list | dict) else value


def records_frame(records: list[dict[str, Any]], fields: list[str]) -> pl.DataFrame:
    """One row per record; a field whose values mix text and numbers (e.g. "na" among angles) stays text."""
    columns: dict[str, pl.Series] = {}
    for field in fields:
        values = [_cell(r.get(field)) for r in records]
        kinds = {type(v) for v in values if v is not None}
        if str in kinds and len(kinds) > 1:
            values = [None if v is None else str(v) for v in values]
        elif kinds <= {int, float} and float in kinds:
            values = [None if v is None else float(v) for v in values]
        columns[field] = pl.Series(field, values)
    return pl.DataFrame(columns)


def _fields(records: list[dict[str, Any]]) -> list[str]:
    fields: list[str] = []
    for record in records:
        fields.extend(key for key in record if key not in fields)
    return fields


def _with_int_targets(frame: pl.DataFrame, spec: CompetitionSpec) -> pl.DataFrame:
    """Boolean labels as 0/1, the form the probability metrics score."""
    return frame.with_columns(pl.col(t).cast(pl.Int8) for t in spec.target_columns if frame.schema[t] == pl.Boolean)


def _test_fields_only(files_dir: Path, spec: CompetitionSpec, test_file: str) -> pl.DataFrame:
    """The labeled records restricted to the fields Kaggle's test file has, plus the targets.

    Fields present only in the training file describe the request after its outcome (e.g. votes and
    comments "at retrieval") and would leak it.
    """
    train_path = raw_file(files_dir, spec.labeled_file)
    test_path = raw_file(files_dir, test_file)
    records = load_records(train_path)
    test_fields = _fields(load_records(test_path))
    wanted = list(dict.fromkeys([spec.id_column, *test_fields, *spec.target_columns]))
    missing = [f for f in wanted if f not in _fields(records)]
    if missing:
        raise RawDataError(f"{train_path}: fields {missing} of the test file, the id or the targets are missing")
    return _with_int_targets(records_frame(records, wanted), spec)


def json_list(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Every field of the labeled JSON records (arrays such as radar bands become JSON text)."""
    path = raw_file(files_dir, spec.labeled_file)
    records = load_records(path)
    return _with_int_targets(records_frame(records, _fields(records)), spec)


def pizza_requests(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Random Acts of Pizza: train.json restricted to the fields of test.json, plus the outcome."""
    return _test_fields_only(files_dir, spec, "test.json")


def yelp_reviews(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Yelp RecSys 2013: training reviews restricted to the fields of the test reviews, plus the stars."""
    return _test_fields_only(files_dir, spec, "yelp_test_set/yelp_test_set_review.json")
