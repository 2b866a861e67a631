"""sklearn's 8x8 handwritten digits as PNG files plus a table of (id, file, label), the way image competitions ship."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image

from curation.preparers.row_ids import shuffled_ids
from curation.spec import CompetitionSpec

SIDE = 8
# sklearn stores each pixel as a count of 0..16 set bits from a 4x4 block of the original 32x32 bitmap.
MAX_LEVEL = 16
PIXEL_COLUMN = re.compile(r"^pixel_(\d+)_(\d+)$")


def digits_png(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Write `<media.raw_dir>/<id>.png` (8x8 grayscale) for every digit; return id, file name and label."""
    media = spec.files.media
    if media is None:
        raise ValueError(f"{spec.slug}: digits_png needs files.media (column and raw_dir) in the spec")
    if len(spec.target_columns) != 1:
        raise ValueError(f"{spec.slug}: digits_png needs exactly one target column, got {spec.target_columns}")
    raw = pl.read_parquet(files_dir / spec.labeled_file)
    pixel_columns = [f"pixel_{row}_{col}" for row in range(SIDE) for col in range(SIDE)]
    missing = [name for name in [*pixel_columns, "target"] if name not in raw.columns]
    if missing:
        raise ValueError(f"{spec.slug}: {files_dir / spec.labeled_file} lacks columns {missing[:5]}")
    pixels = raw.select(pixel_columns).to_numpy().reshape(-1, SIDE, SIDE)
    if pixels.min() < 0 or pixels.max() > MAX_LEVEL:
        raise ValueError(f"{spec.slug}: pixel values outside 0..{MAX_LEVEL}")
    gray = np.rint(pixels * (255.0 / MAX_LEVEL)).astype(np.uint8)

    ids = shuffled_ids(raw.height, salt, spec.slug)
    image_dir = files_dir / media.raw_dir
    # A rebuild starts from an empty directory, so no image of an earlier build survives.
    if image_dir.exists():
        shutil.rmtree(image_dir)
    image_dir.mkdir(parents=True)
    names = [f"{image_id}.png" for image_id in ids]
    for name, image in zip(names, gray, strict=True):
        Image.fromarray(image, mode="L").save(image_dir / name, format="PNG", optimize=False)

    table = pl.DataFrame(
        {
            spec.id_column: ids,
            media.column: names,
            spec.target_columns[0]: raw["target"].cast(pl.Int64),
        }
    )
    return table.sort(spec.id_column)
