"""Integer Sequence Learning: each OEIS sequence of train.csv becomes its prefix and its last term.

Kaggle's test sequences lack their last term, which is the target. Terms exceed 64-bit integers, so both the
prefix and the last term stay text; a one-term sequence has no prefix to learn from and is left out.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.spec import CompetitionSpec


def last_terms(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Id, Sequence (all terms but the last, comma-separated) and the target (the last term, as text)."""
    path = files_dir / spec.labeled_file
    if not path.is_file():
        raise ValueError(f"{spec.slug}: {path} does not exist")
    table = pl.read_csv(path, schema_overrides={"Sequence": pl.String})
    missing = [c for c in (spec.id_column, "Sequence") if c not in table.columns]
    if missing:
        raise ValueError(f"{spec.slug}: {path} lacks columns {missing}")
    (target,) = spec.target_columns
    terms = pl.col("Sequence").str.strip_chars().str.split(",")
    split = table.with_columns(terms.alias("_terms")).filter(pl.col("_terms").list.len() >= 2)
    bad = split.filter(~pl.col("_terms").list.eval(pl.element().str.contains(r"^-?\d+$")).list.all())
    if bad.height:
        raise ValueError(f"{spec.slug}: sequences with non-integer terms, e.g. id {bad[spec.id_column][0]}")
    return split.select(
        spec.id_column,
        pl.col("_terms").list.slice(0, pl.col("_terms").list.len() - 1).list.join(",").alias("Sequence"),
        pl.col("_terms").list.last().alias(target),
    )
