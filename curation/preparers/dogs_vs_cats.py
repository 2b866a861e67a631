"""Dogs vs. Cats Redux: labels come from the training file names (cat.0.jpg, dog.12.jpg).

The id is a hash of the image bytes, not of the name: a hash of "cat.123.jpg" could be recomputed for every
name to recover the label. The task builder renames each copied image to `<id>.jpg`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from curation.spec import CompetitionSpec

LABELS = {"cat": 0, "dog": 1}


def file_digest(path: Path) -> str:
    """First 16 hex digits of the sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def labels_from_names(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """id (content hash), image (file name under the media dir), label (1 dog, 0 cat)."""
    if spec.files.media is None:
        raise ValueError(f"{spec.slug}: this preparer needs files.media in the spec")
    directory = files_dir / spec.files.media.raw_dir
    paths = sorted(directory.glob("*.jpg"))
    if not paths:
        raise ValueError(f"{spec.slug}: no .jpg images in {directory}")
    unknown = [p.name for p in paths if p.name.split(".")[0] not in LABELS]
    if unknown:
        raise ValueError(f"{spec.slug}: image names must start with cat. or dog.: {unknown[:3]}")
    (target,) = spec.target_columns
    table = pl.DataFrame(
        {
            spec.id_column: [file_digest(p) for p in paths],
            spec.files.media.column: [p.name for p in paths],
            target: [LABELS[p.name.split(".")[0]] for p in paths],
        }
    )
    duplicates = table.filter(pl.col(spec.id_column).is_duplicated())
    if duplicates.height:
        # Byte-identical images would share an id; keep one per content hash only if they agree on the label.
        conflicting = duplicates.group_by(spec.id_column).agg(pl.col(target).n_unique()).filter(pl.col(target) > 1)
        if conflicting.height:
            raise ValueError(f"{spec.slug}: identical images labeled both cat and dog: {conflicting.height}")
        table = table.unique(spec.id_column, keep="first", maintain_order=True)
    return table
