"""Image classification labels stored COCO-style: an `images` list and an `annotations` list joined on image id.

Used by the herbarium, iNaturalist, iWildCam 2020 and iMaterialist furniture configs. Each function reads
`spec.labeled_file` (the metadata JSON) and returns one row per labeled image: the id, the image's own
fields that the test metadata also has, the media path (when the competition ships images) and the label.

Where image ids or paths follow the label (herbarium and iNaturalist file images under their category and
number them category by category), the id is a hash of the file path keyed by the build's secret salt (an
unkeyed hash could be recomputed for every category): the task builder names public files after the id,
so neither the name nor the id says anything about the label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curation.secret import keyed_hex
from curation.spec import CompetitionSpec


@dataclass(frozen=True)
class CocoLayout:
    """Keys and options of one competition's metadata JSON."""

    image_key: str = "id"  # the id field of an image record
    annotation_image_key: str = "image_id"  # the image id field of an annotation record
    label_key: str = "category_id"
    path_key: str | None = "file_name"  # None when the competition ships no image files
    image_fields: tuple[str, ...] = ()  # image fields kept as features when present (test metadata has them)
    hash_ids: bool = True
    encoding: str = "utf-8"


def path_id(path: str, salt: bytes) -> str:
    """16 hex digits of blake2b keyed by the salt over an image path: stable, and no hint of the label."""
    return keyed_hex(salt, "image-path", path)


def labeled_images(metadata: dict, layout: CocoLayout, spec: CompetitionSpec, where: str, salt: bytes) -> pl.DataFrame:
    """Join images with their single label; an image labeled twice with different labels is an error."""
    for key in ("images", "annotations"):
        if not isinstance(metadata.get(key), list):
            raise ValueError(f"{where}: the metadata has no {key!r} list")
    (target,) = spec.target_columns
    required = [layout.image_key, *([layout.path_key] if layout.path_key else [])]
    first = metadata["images"][0] if metadata["images"] else {}
    missing = [c for c in required if c not in first]
    if missing:
        raise ValueError(f"{where}: image records lack {missing}")
    # Optional descriptive fields differ between editions; keep those the records have.
    image_columns = required + [c for c in layout.image_fields if c in first]
    images = pl.DataFrame(
        {c: [record.get(c) for record in metadata["images"]] for c in image_columns}, strict=False
    ).rename({layout.image_key: "_image"})
    labels = pl.DataFrame(
        {
            "_image": [a[layout.annotation_image_key] for a in metadata["annotations"]],
            target: [a[layout.label_key] for a in metadata["annotations"]],
        },
        strict=False,
    ).unique(maintain_order=True)
    conflicting = labels.filter(pl.col("_image").is_duplicated())
    if conflicting.height:
        raise ValueError(f"{where}: {conflicting['_image'].n_unique()} images carry more than one label")
    table = images.join(labels, on="_image", how="inner", maintain_order="left")
    if table.is_empty():
        raise ValueError(f"{where}: no image has a label")
    if layout.hash_ids:
        key = layout.path_key or "_image"
        ids = table[key].cast(pl.String).map_elements(lambda path: path_id(path, salt), return_dtype=pl.String)
    else:
        ids = table["_image"].cast(pl.String)
    table = table.with_columns(ids.alias(spec.id_column)).drop("_image")
    if layout.path_key:
        if spec.files.media is None:
            raise ValueError(f"{spec.slug}: images ship as files, so the spec needs files.media")
        table = table.rename({layout.path_key: spec.files.media.column})
    return table.select(spec.id_column, pl.exclude(spec.id_column, target), target)


def read_coco(files_dir: Path, spec: CompetitionSpec, layout: CocoLayout, salt: bytes) -> pl.DataFrame:
    """`spec.labeled_file` read with `layout`, media paths checked to exist."""
    path = files_dir / spec.labeled_file
    if not path.is_file():
        raise ValueError(f"{spec.slug}: {path} does not exist")
    try:
        metadata = json.loads(path.read_text(encoding=layout.encoding))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{spec.slug}: {path} is not readable JSON: {exc}") from exc
    table = labeled_images(metadata, layout, spec, f"{spec.slug}: {path}", salt)
    if layout.path_key and spec.files.media is not None:
        media_dir = files_dir / spec.files.media.raw_dir
        absent = [p for p in table[spec.files.media.column].to_list() if not (media_dir / p).is_file()]
        if absent:
            raise ValueError(f"{spec.slug}: {len(absent)} images are missing under {media_dir}, e.g. {absent[:3]}")
    return table


def herbarium_2020(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """nybg2020/train/metadata.json, which is Latin-1 encoded (MLE-bench: utf-8 fails)."""
    return read_coco(files_dir, spec, CocoLayout(image_fields=("height", "width"), encoding="latin-1"), salt)


def herbarium(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Herbarium 2021 and 2022 metadata (UTF-8)."""
    return read_coco(files_dir, spec, CocoLayout(image_fields=("height", "width")), salt)


def inaturalist_2019(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """train2019.json; paths like train_val2019/Plants/400/<name>.jpg name the category."""
    return read_coco(files_dir, spec, CocoLayout(image_fields=("height", "width")), salt)


def iwildcam_2020(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """iwildcam2020_train_annotations.json; ids are the camera-trap image UUIDs Kaggle uses, which carry no label."""
    fields = ("location", "seq_id", "seq_num_frames", "frame_num", "datetime", "width", "height")
    return read_coco(files_dir, spec, CocoLayout(image_fields=fields, hash_ids=False), salt)


def imaterialist_furniture(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """train.json: images {image_id, url: [...]}, annotations {image_id, label_id}; no image files ship."""
    layout = CocoLayout(image_key="image_id", label_key="label_id", path_key=None, image_fields=("url",))
    table = read_coco(files_dir, spec, layout, salt)
    return table.with_columns(pl.col("url").map_elements(lambda urls: json.dumps(list(urls)), return_dtype=pl.String))
