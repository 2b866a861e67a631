"""Facial Keypoints Detection: one row per (face, keypoint) present, faces written out as PNG files.

training.csv holds 30 keypoint coordinates (many missing) and the 96x96 face as 9,216 space-separated pixel
values. Kaggle asks only for the keypoints listed in IdLookupTable.csv and scores one RMSE over them, so the
rows are the present (face, keypoint) pairs and the single-column `rmse` is Kaggle's number. Faces get a
content hash as id and are written to `faces/<ImageId>.png`, which ships whole: pixels are not labels.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image

from curation.sources import read_table
from curation.spec import CompetitionSpec

FACES_DIR = "faces"
SIDE = 96


def face_id(pixels: str) -> str:
    """First 16 hex digits of blake2b over the pixel text."""
    return hashlib.blake2b(pixels.encode(), digest_size=8).hexdigest()


def write_face(pixels: str, path: Path) -> None:
    """Write the 96x96 grayscale face given as space-separated values as a PNG."""
    values = np.array(pixels.split(), dtype=np.float64)
    if values.size != SIDE * SIDE or (values < 0).any() or (values > 255).any():
        raise ValueError(f"a face needs {SIDE * SIDE} values in 0..255, got {values.size}")
    Image.fromarray(values.reshape(SIDE, SIDE).round().astype(np.uint8)).save(path)


def keypoint_rows(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """RowId (<ImageId>_<FeatureName>), ImageId, FeatureName, image (faces/<ImageId>.png), Location."""
    path = files_dir / spec.labeled_file
    table = read_table(path)
    if "Image" not in table.columns:
        raise ValueError(f"{spec.slug}: {path} has no Image column")
    keypoints = [c for c in table.columns if c != "Image"]
    table = table.with_columns(pl.col("Image").map_elements(face_id, return_dtype=pl.String).alias("ImageId"))
    # A face listed twice keeps one set of keypoints, chosen by value so the file order does not matter.
    table = table.sort("ImageId", *keypoints, nulls_last=True).unique("ImageId", keep="first", maintain_order=True)
    faces = files_dir / FACES_DIR
    faces.mkdir(exist_ok=True)
    for image_id, pixels in zip(table["ImageId"].to_list(), table["Image"].to_list(), strict=True):
        write_face(pixels, faces / f"{image_id}.png")
    (target,) = spec.target_columns
    long = (
        table.drop("Image")
        .unpivot(on=keypoints, index="ImageId", variable_name="FeatureName", value_name=target)
        .drop_nulls(target)
    )
    return long.select(
        pl.concat_str(["ImageId", "FeatureName"], separator="_").alias(spec.id_column),
        "ImageId",
        "FeatureName",
        (pl.lit(f"{FACES_DIR}/") + pl.col("ImageId") + ".png").alias("image"),
        target,
    ).sort(spec.id_column)
