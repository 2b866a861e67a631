"""Audio competitions whose labels are not a table: label lists, folder names or file-name suffixes."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.raw_tables import RawDataError, raw_file, read_raw_table, require_columns
from curation.secret import keyed_hex
from curation.spec import CompetitionSpec

HIDDEN = "?"  # MLSP 2013 marks the recordings of Kaggle's hidden test set with "?" instead of labels


def _species_count(path: Path) -> int:
    species = read_raw_table(path)
    require_columns(species, ["class_id"], path)
    return species.height


def bird_species_pairs(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """MLSP 2013 birds: one row per (labeled recording, species), as the submission is laid out.

    `rec_labels_test_hidden.txt` has a header, then `rec_id[,species,...]` per recording ("?" when hidden);
    `rec_id2filename.txt` maps recordings to their wav names; `species_list.txt` lists the species.
    Columns: id (`rec_id * 100 + species`), rec_id, species, filename, target (1 if the species is heard).
    """
    labels_path = raw_file(files_dir, spec.labeled_file)
    names_path = labels_path.with_name("rec_id2filename.txt")
    count = _species_count(labels_path.with_name("species_list.txt"))
    names = read_raw_table(names_path)
    require_columns(names, ["rec_id", "filename"], names_path)
    rows: list[tuple[int, int, int, int]] = []
    for number, line in enumerate(labels_path.read_text().splitlines()[1:], start=2):
        fields = [f.strip() for f in line.split(",") if f.strip()]
        if not fields:
            continue
        if not fields[0].isdigit():
            raise RawDataError(f"{labels_path}:{number}: expected a rec_id, got {line!r}")
        if HIDDEN in fields[1:]:
            continue
        rec_id = int(fields[0])
        present = {int(f) for f in fields[1:]}
        if any(s < 0 or s >= count for s in present):
            raise RawDataError(f"{labels_path}:{number}: species outside 0..{count - 1} in {line!r}")
        rows += [(rec_id * 100 + s, rec_id, s, int(s in present)) for s in range(count)]
    if not rows:
        raise RawDataError(f"{labels_path}: no labeled recordings")
    pairs = pl.DataFrame(rows, schema=[spec.id_column, "rec_id", "species", spec.target_columns[0]], orient="row")
    joined = pairs.join(names.select("rec_id", "filename"), on="rec_id", how="left")
    unnamed = joined.filter(pl.col("filename").is_null())["rec_id"].unique().sort().head(5).to_list()
    if unnamed:
        raise RawDataError(f"{names_path}: recordings {unnamed} have no file name")
    return joined.select(spec.id_column, "rec_id", "species", "filename", spec.target_columns[0])


# The ten command words Kaggle scores; every other spoken word is "unknown" (Kaggle's test has "silence" too,
# which the training folders only hold as long background-noise recordings, not as labeled clips).
SPEECH_COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
BACKGROUND_NOISE = "_background_noise_"


def speech_commands(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """TensorFlow Speech Commands: one row per clip of `<labeled dir>/<word>/<speaker>_nohash_<n>.wav`.

    The label is the folder mapped to Kaggle's classes (ten words, else `unknown`). The id is a hash of
    the clip's path keyed by the secret salt: unkeyed, hashing `<word>/<speaker>_nohash_<n>.wav` for
    every word would find the label. `speaker` keeps a speaker's clips together in the split, as the
    dataset's own validation and test lists do; the spec lists it in `split.private_columns`.
    """
    root = raw_file(files_dir, spec.labeled_file)
    if spec.files.media is None:
        raise RawDataError(f"{spec.slug}: speech_commands writes the media column, but the spec has no files.media")
    rows: list[tuple[str, str, str, str]] = []
    for word_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND_NOISE):
        label = word_dir.name if word_dir.name in SPEECH_COMMANDS else "unknown"
        for clip in sorted(word_dir.glob("*.wav")):
            speaker, marker, _ = clip.stem.partition("_nohash_")
            if not marker:
                raise RawDataError(f"{clip}: expected a name <speaker>_nohash_<n>.wav")
            relative = f"{word_dir.name}/{clip.name}"
            rows.append((f"clip_{keyed_hex(salt, 'speech-clip', relative)}.wav", speaker, relative, label))
    if not rows:
        raise RawDataError(f"{root}: no clips in word folders")
    columns = [spec.id_column, "speaker", spec.files.media.column, spec.target_columns[0]]
    return pl.DataFrame(rows, schema=columns, orient="row")


def right_whale_clips(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """ICML 2013 right whale: clips `<date>_<time>_<offset>_TRAIN<n>_<label>.aif`, label 1 for an up-call.

    The id is the file name without the label suffix; `recorded_at` (`<date>_<time>`) orders clips in time.
    """
    root = raw_file(files_dir, spec.labeled_file)
    if spec.files.media is None:
        raise RawDataError(f"{spec.slug}: right_whale_clips writes the media column, but the spec has no files.media")
    rows: list[tuple[str, str, str, int]] = []
    for clip in sorted(root.glob("*.aif")):
        stem, _, label = clip.stem.rpartition("_")
        parts = stem.split("_")
        if label not in ("0", "1") or len(parts) < 3:
            raise RawDataError(f"{clip}: expected <date>_<time>_<offset>_TRAIN<n>_<0|1>.aif")
        rows.append((f"{stem}.aif", f"{parts[0]}_{parts[1]}", clip.name, int(label)))
    if not rows:
        raise RawDataError(f"{root}: no .aif clips")
    columns = [spec.id_column, "recorded_at", spec.files.media.column, spec.target_columns[0]]
    return pl.DataFrame(rows, schema=columns, orient="row")
