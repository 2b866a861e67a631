"""Labeled data shipped as a JSON list of records; nested values (lists, objects) become JSON text cells."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from curation.spec import CompetitionSpec


def records_table(records: list[dict], where: str) -> pl.DataFrame:
    """A table with one row per record; list and dict values are serialized so a CSV can hold them."""
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{where}: expected a JSON list of objects")
    if not records:
        raise ValueError(f"{where}: the JSON list is empty")
    columns: list[str] = []
    for record in records:
        columns.extend(key for key in record if key not in columns)
    data = {
        column: [
            json.dumps(r[column], separators=(",", ":")) if isinstance(r.get(column), list | dict) else r.get(column)
            for r in records
        ]
        for column in columns
    }
    return pl.DataFrame(data, strict=False)


def read(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The labeled JSON file (e.g. Don't call me turkey!'s train.json) as a table."""
    path = files_dir / spec.labeled_file
    if not path.is_file():
        raise ValueError(f"{spec.slug}: {path} does not exist")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{spec.slug}: {path} is not valid JSON: {exc}") from exc
    return records_table(records, f"{spec.slug}: {path}")
