"""ML2021 Spring HW2 (TIMIT framewise phonemes): NumPy feature and label arrays turned into one table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file
from curation.spec import CompetitionSpec

LABELS_FILE = "train_label_11.npy"  # beside the features file, same row order


def framewise_phonemes(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """One row per frame: id (row index), `f000..f428` float32 features, integer phoneme class."""
    features_path = raw_file(files_dir, spec.labeled_file)
    labels_path = features_path.with_name(LABELS_FILE)
    if not labels_path.is_file():
        raise RawDataError(f"{labels_path}: label array not found beside {features_path.name}")
    features = np.load(features_path)
    labels = np.load(labels_path)
    if features.ndim != 2:
        raise RawDataError(f"{features_path}: expected a 2-D array of frames x features, got shape {features.shape}")
    if labels.shape != (features.shape[0],):
        raise RawDataError(f"{labels_path}: {labels.shape[0]} labels for {features.shape[0]} frames")
    try:
        classes = labels.astype(np.int64)  # the course ships the classes as strings "0".."38"
    except ValueError as exc:
        raise RawDataError(f"{labels_path}: labels are not integers: {exc}") from exc
    width = len(str(features.shape[1] - 1))
    columns = {f"f{i:0{width}d}": features[:, i].astype(np.float32) for i in range(features.shape[1])}
    return pl.DataFrame(
        {spec.id_column: np.arange(features.shape[0], dtype=np.int64), **columns, spec.target_columns[0]: classes}
    )
