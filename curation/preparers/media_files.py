"""Labeled tables of media competitions (l-z catalog): each row gets the path of its media file.

The task copies every row's file from `files.media.raw_dir/<path>` to `public/<public_dir>/<id><ext>`
(see curation/tasks.py), so these preparers only say where each row's file is. Kaggle names those files
after the row id or files them under their label; neither shape fits a column of the raw table, which
is why a preparer is needed.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file, read_raw_table, require_columns
from curation.secret import keyed_hex
from curation.spec import CompetitionSpec

# Extensions of the files `class_folders` lists; anything else in the folders (e.g. .DS_Store) is ignored.
MEDIA_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".wav", ".aif", ".aiff", ".flac"})


def _media_column(spec: CompetitionSpec) -> str:
    if spec.files.media is None:
        raise RawDataError(f"{spec.slug}: this preparer writes the media column, but the spec has no files.media")
    return spec.files.media.column


def _labeled(files_dir: Path, spec: CompetitionSpec) -> tuple[pl.DataFrame, Path]:
    path = raw_file(files_dir, spec.labeled_file)
    frame = read_raw_table(path)
    require_columns(frame, [spec.id_column], path)
    return frame, path


def _with_path(files_dir: Path, spec: CompetitionSpec, path_of: pl.Expr) -> pl.DataFrame:
    """The labeled file plus the media column computed by `path_of` from its columns."""
    frame, _ = _labeled(files_dir, spec)
    return frame.with_columns(path_of.alias(_media_column(spec)))


def _id_text(spec: CompetitionSpec) -> pl.Expr:
    return pl.col(spec.id_column).cast(pl.String)


def id_jpg(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media file `<id>.jpg`."""
    return _with_path(files_dir, spec, _id_text(spec) + ".jpg")


def id_png(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media file `<id>.png`."""
    return _with_path(files_dir, spec, _id_text(spec) + ".png")


def id_csv(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media file `<id>.csv` (one signal table per row)."""
    return _with_path(files_dir, spec, _id_text(spec) + ".csv")


def id_npy_by_first_char(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media file `<first character of id>/<id>.npy`, SETI's layout."""
    ident = _id_text(spec)
    return _with_path(files_dir, spec, ident.str.slice(0, 1) + "/" + ident + ".npy")


def id_geometry_xyz(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media file `<id>/geometry.xyz`, the atom positions of NOMAD 2018."""
    return _with_path(files_dir, spec, _id_text(spec) + "/geometry.xyz")


def file_name_is_id(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """The id is already the file name; copy it to the media column, which the task rewrites."""
    return _with_path(files_dir, spec, _id_text(spec))


def label_folder_id(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Media file `<label>/<id>`: images filed in one folder per class next to a label table."""
    frame, path = _labeled(files_dir, spec)
    target = spec.target_columns[0]
    require_columns(frame, [target], path)
    return frame.with_columns((pl.col(target).cast(pl.String) + "/" + _id_text(spec)).alias(_media_column(spec)))


def class_folders(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Rows from a `<labeled dir>/<class>/<file>` tree with no label table: id, target = class, media path.

    The id is a hash of `<class>/<file>` keyed by the secret salt. The file name itself would be a raw
    artefact that may follow the class (numbered folder by folder), and an unkeyed hash of the path could
    be recomputed for every class.
    """
    root = raw_file(files_dir, spec.labeled_file)
    if not root.is_dir():
        raise RawDataError(f"{root}: expected a directory of class folders")
    rows: list[tuple[str, str, str]] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES):
            path = f"{class_dir.name}/{file.name}"
            rows.append((keyed_hex(salt, "class-folders", path), class_dir.name, path))
    if not rows:
        raise RawDataError(f"{root}: no media files found in class folders")
    frame = pl.DataFrame(rows, schema=[spec.id_column, spec.target_columns[0], _media_column(spec)], orient="row")
    names = frame[_media_column(spec)].str.split("/").list.last()
    duplicated = names.filter(names.is_duplicated()).unique().sort().to_list()
    if duplicated:
        raise RawDataError(f"{root}: file names {duplicated[:5]} appear in several class folders: which label holds?")
    return frame
