"""Global Wheat Detection: one row per image with all its boxes, including images without any wheat head.

train.csv has one row per box ("[xmin, ymin, width, height]") and omits images without boxes, which exist only
as files in train/. The target joins an image's boxes as "x y w h x y w h ...", the ground-truth form of
`mean_average_precision_boxes`; an image without boxes has an empty target. Only the image and its boxes
are kept: Kaggle's test gives neither the source nor the size, and a missing source would flag empty images.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from curation.sources import read_table
from curation.spec import CompetitionSpec


def box_text(bbox: str) -> str:
    """ "[834.0, 222.0, 56.0, 36.0]" -> "834.0 222.0 56.0 36.0"; anything but four numbers is an error."""
    values = json.loads(bbox)
    if not isinstance(values, list) or len(values) != 4 or not all(isinstance(v, int | float) for v in values):
        raise ValueError(f"a box must be [xmin, ymin, width, height], got {bbox!r}")
    return " ".join(str(float(v)) for v in values)


def image_boxes(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """image_id, the media column (<image_id>.jpg) and the target (space-separated boxes, "" for none)."""
    if spec.files.media is None:
        raise ValueError(f"{spec.slug}: this preparer needs files.media in the spec")
    (target,) = spec.target_columns
    path = files_dir / spec.labeled_file
    boxes = read_table(path)
    missing = [c for c in (spec.id_column, "bbox") if c not in boxes.columns]
    if missing:
        raise ValueError(f"{spec.slug}: {path} lacks columns {missing}")
    boxes = boxes.with_columns(pl.col("bbox").map_elements(box_text, return_dtype=pl.String))
    per_image = boxes.group_by(spec.id_column, maintain_order=True).agg(pl.col("bbox").str.join(" ").alias(target))
    image_dir = files_dir / spec.files.media.raw_dir
    images = sorted(p.stem for p in image_dir.glob("*.jpg"))
    if not images:
        raise ValueError(f"{spec.slug}: no .jpg images in {image_dir}")
    unknown = set(per_image[spec.id_column].to_list()) - set(images)
    if unknown:
        raise ValueError(f"{spec.slug}: boxes for images missing from {image_dir}: {sorted(unknown)[:3]}")
    table = pl.DataFrame({spec.id_column: images}).join(per_image, on=spec.id_column, how="left")
    return table.with_columns(
        pl.col(target).fill_null(""), (pl.col(spec.id_column) + ".jpg").alias(spec.files.media.column)
    )
