"""Audio competitions whose labels are not a table: label lists, folder names or file-name suffixes."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file, read_raw_table, require_columns
from curation.spec import CompetitionSpec

HIDDEN = "?"  # MLSP 2013 marks the recordings of Kaggle's hidden test set with "?" instead of labels


def _species_count(path: Path) -> int:
    species = read_raw_table(path)
    require_columns(species, ["class_id"], path)
    return species.height


def bird_species_pairs(files_dir: Path, spec: CompetitionSpec) -> pl.DataFrame:
    """MLSP 2013 birds: one row per (labeled recording, species), as the submission is laid out.

    `rec_labels_test_hidden.txt` has a header, then `rec_id[,species,...]` per recording ("?" when hidden);
    `rec_id2filename.txt` maps recordings to their wav names; `species_list.txt` lists the species.
    Columns: id (`rec_id * 100 + species`), rec_id, species, filename, target (1 if the species is heard).
    """
    labels_path = raw_file(files_dir, spec.labeled_file)
    names_path = labels_path.with_name("rec_id2filename.txt")
    count = _species_count(labels_path.with_name("species_list.txt"))
    names = read_raw_table(names_path)
    require_columns(names, ["rec_id", "filename"], names_path)
    rows: list[tuple[int, int, int, int]] = []
    for number, line in enumerate(labels_path.read_text().splitlines()[1:], start=2):
        fields = [f.strip() for f in line.split(",") if f.strip()]
        if not fields:
            continue
        if not fields[0].isdigit():
            raise RawDataError(f"{labels_path}:{number}: expected a rec_id, got {line!r}")
        if HIDDEN in fields[1:]:
            continue
        rec_id = int(fields[0])
        present = {int(f) for f in fields[1:]}
        if any(s < 0 or s >= count for s in present):
            raise RawDataError(f"{labels_path}:{number}: species outside 0..{count - 1} in {line!r}")
        rows += [(rec_id * 100 + s, rec_id, s, int(s in present)) for s in range(count)]
    if not rows:
        raise RawDataError(f"{labels_path}: no labeled recordings")
    pairs = pl.DataFrame(rows, schema=[spec.id_column, "rec_id", "species", spec.target_columns[0]], orient="row")
    joined = pairs.join(names.select("rec_id", "filename"), on="rec_id", how="left")
    unnamed = joined.filter(pl.col("filename").is_null())["rec_id"].unique().sort().head(5).to_list()
    if unnamed:
        raise RawDataError(f"{names_path}: recordings {unnamed} have no file name")
    return joined.select(spec.id_column, "rec_id", "species", "filename", spec.target_columns[0])
