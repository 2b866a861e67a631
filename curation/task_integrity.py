"""Integrity checks of a built task besides the leak audit: answers against the sample, rebuild determinism."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.sources import read_table


def _public_file(task_dir: Path, meta: dict, role: str) -> Path:
    return task_dir / next(f["path"] for f in meta["files"] if f["role"] == role)


def answer_sample_id_mismatch(task_dir: Path, meta: dict) -> dict[str, list]:
    """Ids only in the answers and ids only in the sample submission (both empty when they agree)."""
    id_column = meta["id_column"]
    answers = pl.read_parquet(task_dir / "private" / "answers.parquet")[id_column].cast(pl.String)
    sample = read_table(_public_file(task_dir, meta, "sample_submission"))[id_column].cast(pl.String)
    return {
        "only_in_answers": answers.filter(~answers.is_in(sample.implode())).head(20).to_list(),
        "only_in_sample": sample.filter(~sample.is_in(answers.implode())).head(20).to_list(),
    }


def checksum_differences(first: dict, second: dict) -> list[str]:
    """Paths whose sha256 differs between two task.json file lists (or exist in one only)."""
    a = {f["path"]: f["sha256"] for f in first["files"]}
    b = {f["path"]: f["sha256"] for f in second["files"]}
    return sorted(path for path in a.keys() | b.keys() if a.get(path) != b.get(path))
