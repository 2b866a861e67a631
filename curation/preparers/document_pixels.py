"""Denoising Dirty Documents: the clean training images as one row per pixel, Kaggle's submission shape.

Kaggle scores the RMSE of every pixel intensity (0 black .. 1 white) of the cleaned test images, ids
`<image>_<row>_<col>` counted from 1. The noisy inputs (train/) hold no labels and ship whole as an extra
folder; the clean images (train_cleaned/) are the labels and only reach the public side as rows of train.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image

from curation.spec import CompetitionSpec

CLEAN_DIR = "train_cleaned"
NOISY_DIR = "train"


def image_pixels(path: Path, target: str) -> pl.DataFrame:
    """One row per pixel of a grayscale PNG: id, image, row, col (from 1) and the intensity in [0, 1]."""
    with Image.open(path) as image:
        values = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    height, width = values.shape
    rows = np.repeat(np.arange(1, height + 1), width)
    cols = np.tile(np.arange(1, width + 1), height)
    frame = pl.DataFrame({"image": path.name, "row": rows, "col": cols, target: values.reshape(-1)})
    ids = pl.concat_str([pl.lit(path.stem), pl.col("row"), pl.col("col")], separator="_").alias("id")
    return frame.select(ids, pl.all())


def clean_pixels(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Every pixel of every clean training image whose noisy twin exists in train/."""
    clean, noisy = files_dir / CLEAN_DIR, files_dir / NOISY_DIR
    for directory in (clean, noisy):
        if not directory.is_dir():
            raise ValueError(f"{spec.slug}: {directory} does not exist")
    paths = sorted(clean.glob("*.png"))
    if not paths:
        raise ValueError(f"{spec.slug}: no PNG images in {clean}")
    unpaired = [p.name for p in paths if not (noisy / p.name).is_file()]
    if unpaired:
        raise ValueError(f"{spec.slug}: clean images without a noisy twin in {noisy}: {unpaired[:3]}")
    (target,) = spec.target_columns
    table = pl.concat([image_pixels(path, target) for path in paths])
    return table.rename({"id": spec.id_column}) if spec.id_column != "id" else table
