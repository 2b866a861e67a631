"""OpenVaccine (Stanford COVID vaccine): per-RNA JSON arrays of degradation rates, one row per scored base."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.json_tables import load_records
from curation.preparers.raw_tables import RawDataError, raw_file
from curation.spec import CompetitionSpec

CONTEXT = ("sequence", "structure", "predicted_loop_type")  # whole-molecule strings every position row carries


def scored_positions(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Rows `<id>_<seqpos>` for the first `seq_scored` bases of every RNA that passed Kaggle's SN_filter.

    Kaggle filtered its test molecules for signal quality (SN_filter = 1); keeping only those here makes
    the held-out labels as clean as Kaggle's. The unscored deg_pH10 / deg_50C arrays, the error arrays
    and the signal-to-noise fields are measurements of the labels themselves and are left out.
    """
    path = raw_file(files_dir, spec.labeled_file)
    rows: dict[str, list] = {name: [] for name in [spec.id_column, "id", "seqpos", *CONTEXT, *spec.target_columns]}
    for record in load_records(path):
        missing = [f for f in ["id", "SN_filter", "seq_scored", *CONTEXT, *spec.target_columns] if f not in record]
        if missing:
            raise RawDataError(f"{path}: record {record.get('id')!r} lacks {missing}")
        if record["SN_filter"] != 1:
            continue
        scored = int(record["seq_scored"])
        for target in spec.target_columns:
            if len(record[target]) != scored:
                raise RawDataError(f"{path}: {record['id']} has {len(record[target])} {target} values, not {scored}")
        for position in range(scored):
            rows[spec.id_column].append(f"{record['id']}_{position}")
            rows["id"].append(record["id"])
            rows["seqpos"].append(position)
            for name in CONTEXT:
                rows[name].append(record[name])
            for target in spec.target_columns:
                rows[target].append(float(record[target][position]))
    if not rows["id"]:
        raise RawDataError(f"{path}: no molecule passed SN_filter")
    return pl.DataFrame(rows)
