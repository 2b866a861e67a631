"""Hotel-ID 2021: images are filed as train_images/<chain>/<image>; the chain is not known for test images.

The media path is built from the chain, then the config drops `chain` (and `timestamp`), which Kaggle's test
does not give; the task builder renames every copied image after its id, so no public path shows the chain.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.id_media import with_media_paths
from curation.sources import read_table
from curation.spec import CompetitionSpec

# MLE-bench drops this image from train.csv: listed, but not a usable image in the download.
UNUSABLE_IMAGES = frozenset({"ce27d36c9147cc19.jpg"})


def chain_paths(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """train.csv without the unusable image, plus the media column "<chain>/<image>"."""
    path = files_dir / spec.labeled_file
    table = read_table(path)
    missing = [c for c in ("image", "chain") if c not in table.columns]
    if missing:
        raise ValueError(f"{spec.slug}: {path} lacks columns {missing}")
    table = table.filter(~pl.col("image").is_in(list(UNUSABLE_IMAGES)))
    paths = table["chain"].cast(pl.String) + "/" + table["image"]
    return with_media_paths(table, paths, files_dir, spec)
