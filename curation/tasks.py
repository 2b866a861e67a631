"""Build a task directory (public files, private answers, grader, task.json) from a spec and its raw data."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from curation import secret
from curation.layout import Home, atomic_dir
from curation.sources import LABELED_FILE, RawResult, file_sha256, write_table
from curation.spec import CompetitionSpec
from curation.splits import BOARD, SPLIT_CODE_VERSION, apply_split, fit_split

# Bump when the layout or content of task files changes.
TASK_CODE_VERSION = "task-2"

MAX_CLOSED_CLASSES = 500  # beyond this many distinct labels a label target is treated as open-ended
PredictionKind = str  # "label" | "probability" | "class_probabilities" | "number" | "text" (graders.metrics)
GraderRenderer = Callable[[dict], str]  # task.json dict -> grader.py source


@dataclass(frozen=True)
class TaskResult:
    """What building one task produced."""

    slug: str
    task_version: str
    task_dir: Path
    meta: dict
    cache_hit: bool


def task_version(spec: CompetitionSpec, source_sha256: str, grader_code: str, secret_sha256: str) -> str:
    """Content hash of (spec, source data, split/task code, grader code, salt's sha256): same inputs, same version."""
    parts = [spec.content_hash(), source_sha256, SPLIT_CODE_VERSION, TASK_CODE_VERSION, grader_code, secret_sha256]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _classes(spec: CompetitionSpec, labeled: pl.DataFrame, prediction: PredictionKind) -> list[str] | None:
    if prediction not in ("label", "class_probabilities") or len(spec.target_columns) != 1:
        return None
    # Text form as polars casts it, so the grader's own cast of a submission compares equal.
    values = labeled[spec.target_columns[0]].drop_nulls().unique().sort()
    if prediction == "label" and len(values) > MAX_CLOSED_CLASSES:
        # An open answer space (e.g. "the next integer of a sequence"): any label is valid, most are wrong.
        return None
    return values.cast(pl.String).to_list()


def prediction_columns(spec: CompetitionSpec, classes: list[str] | None) -> list[str]:
    """Columns of a submission besides the id."""
    if spec.submission_format == "class_probabilities":
        assert classes is not None
        return list(classes)
    return list(spec.target_columns)


def _sample_values(
    spec: CompetitionSpec, train: pl.DataFrame, prediction: PredictionKind, columns: list[str], n: int
) -> dict[str, pl.Series]:
    """A valid constant prediction per column, as Kaggle's sample submissions have."""
    values: dict[str, pl.Series] = {}
    for column in columns:
        if prediction == "class_probabilities":
            values[column] = pl.repeat(1.0 / len(columns), n, eager=True, dtype=pl.Float64)
        elif prediction == "probability":
            values[column] = pl.repeat(0.5, n, eager=True, dtype=pl.Float64)
        elif prediction == "text":
            # Text metrics parse their own formats (boxes with confidences, ranked lists, masks); the empty
            # prediction is the one value every one of them accepts.
            values[column] = pl.repeat("", n, eager=True, dtype=pl.String)
        elif prediction == "number":
            median = train[column].cast(pl.Float64).median()
            values[column] = pl.repeat(float(median if median is not None else 0.0), n, eager=True)
        else:
            # Most frequent training value; ties go to the smallest so the file is deterministic.
            counts = train[column].value_counts(sort=False).sort(["count", column], descending=[True, False])
            values[column] = pl.repeat(counts[column][0], n, eager=True, dtype=train.schema[column])
    return {name: series.alias(name) for name, series in values.items()}


def _copy_media(spec: CompetitionSpec, files_dir: Path, frame: pl.DataFrame, public: Path) -> pl.DataFrame:
    """Copy each row's media file to public/<dir>/<id><ext> and point the column there.

    Renaming to the id matters: raw file names often carry the label (e.g. "cat.123.jpg").
    """
    media = spec.files.media
    assert media is not None
    target = public / media.public_dir
    target.mkdir(parents=True, exist_ok=True)
    new_names = []
    for row_id, name in zip(frame[spec.id_column].to_list(), frame[media.column].to_list(), strict=True):
        origin = files_dir / media.raw_dir / str(name)
        if not origin.is_file():
            raise FileNotFoundError(f"{spec.slug}: media file {origin} of id {row_id!r} is missing")
        new_name = f"{row_id}{origin.suffix}"
        shutil.copyfile(origin, target / new_name)
        new_names.append(f"{media.public_dir}/{new_name}")
    return frame.with_columns(pl.Series(media.column, new_names))


def _file_entry(task_dir: Path, path: Path, role: str, rows: int | None) -> dict:
    return {
        "path": path.relative_to(task_dir).as_posix(),
        "role": role,
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "rows": rows,
    }


def _dir_entry(task_dir: Path, directory: Path, role: str) -> dict:
    """One entry for a media directory: sha256 over (name, sha256) of every file, sorted."""
    digest = hashlib.sha256()
    total = count = 0
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(directory).as_posix()}\t{file_sha256(path)}\n".encode())
        total += path.stat().st_size
        count += 1
    return {
        "path": directory.relative_to(task_dir).as_posix(),
        "role": role,
        "sha256": digest.hexdigest(),
        "bytes": total,
        "rows": count,
    }


BATCH_ROWS = 500_000  # rows per streamed batch: bounds memory on multi-million-row tables


@dataclass(frozen=True)
class SplitFiles:
    """What write_split_files wrote: (role, path, rows) per file, row counts, classes, prediction columns."""

    files: list[tuple[str, Path, int | None]]
    rows: dict[str, int]
    classes: list[str] | None
    prediction_columns: list[str]


class _TableWriter:
    """Appends batches to one CSV or Parquet file, writing the header (or schema) once."""

    def __init__(self, path: Path) -> None:
        self.path, self.rows, self._handle, self._parquet = path, 0, None, None

    def write(self, frame: pl.DataFrame) -> None:
        if self.path.suffix == ".parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, frame.to_arrow().schema, compression="zstd")
            self._parquet.write_table(frame.to_arrow())
        else:
            if self._handle is None:
                self._handle = self.path.open("wb")
                frame.write_csv(self._handle, include_header=True)
            elif frame.height:
                frame.write_csv(self._handle, include_header=False)
        self.rows += frame.height

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()


def write_split_files(
    spec: CompetitionSpec,
    labeled_path: Path,
    files_dir: Path,
    public: Path,
    private: Path,
    prediction: PredictionKind,
    *,
    salt: bytes,
) -> SplitFiles:
    """Split the canonical labeled table and write train, test, sample submission and answers.

    The split is fitted on the key and target columns only, its hashes keyed by the secret `salt`; the
    full rows then stream through in batches, so memory stays bounded on tables of tens of millions of
    rows. `split.private_columns` stay out of train and test.
    """
    split = spec.split
    key_columns = [spec.id_column, *spec.target_columns]
    key_columns += [c for c in (split.stratify_column, split.group_column, split.time_column) if c]
    keys = pl.read_parquet(labeled_path, columns=list(dict.fromkeys(key_columns)))
    rule = fit_split(keys, spec.id_column, split, salt)
    is_test, is_public = apply_split(keys, rule)
    classes = _classes(spec, keys, prediction)
    pred_columns = prediction_columns(spec, classes)
    test_mask = pl.Series(is_test)
    test_keys = keys.filter(test_mask)
    board = np.where(is_public[is_test], "public", "private")
    # Sorted by id, so the grader lines submissions up with one sort and no join.
    answers = test_keys.select(spec.id_column, *spec.target_columns).with_columns(
        pl.Series(BOARD, board, dtype=pl.Enum(["public", "private"]))
    )
    answers = answers.sort(spec.id_column)
    sample = pl.DataFrame(
        {spec.id_column: test_keys[spec.id_column]}
        | _sample_values(spec, keys.filter(~test_mask), prediction, pred_columns, test_keys.height)
    )
    del keys, test_keys

    def public_name(name: str) -> str:
        return str(Path(name).with_suffix(f".{spec.files.format}"))

    train_writer = _TableWriter(public / public_name(spec.files.train))
    test_writer = _TableWriter(public / public_name(spec.files.test))
    offset = 0
    try:
        for batch in pq.ParquetFile(labeled_path).iter_batches(batch_size=BATCH_ROWS):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            mask = pl.Series(is_test[offset : offset + frame.height])
            offset += frame.height
            if spec.files.media:
                frame = _copy_media(spec, files_dir, frame, public)
            frame = frame.drop(split.private_columns)
            train_writer.write(frame.filter(~mask))
            test_writer.write(frame.filter(mask).drop(spec.target_columns))
    finally:
        train_writer.close()
        test_writer.close()
    sample_path = public / spec.files.sample_submission
    write_table(sample, sample_path)
    answers_path = private / "answers.parquet"
    write_table(answers, answers_path)
    return SplitFiles(
        files=[
            ("train", train_writer.path, train_writer.rows),
            ("test", test_writer.path, test_writer.rows),
            ("sample_submission", sample_path, sample.height),
            ("answers", answers_path, answers.height),
        ],
        rows={
            "train": train_writer.rows,
            "test": test_writer.rows,
            "public": int(is_public.sum()),
            "private": int(is_test.sum() - is_public.sum()),
        },
        classes=classes,
        prediction_columns=pred_columns,
    )


def build_task(
    spec: CompetitionSpec,
    home: Home,
    raw: RawResult,
    *,
    prediction: PredictionKind,
    higher_is_better: bool,
    render_grader: GraderRenderer,
    grader_code: str,
    force: bool = False,
) -> TaskResult:
    """Split the labeled rows and write tasks/<slug>/<version>/ atomically; reuse it when already built."""
    salt = secret.salt(home)
    version = task_version(spec, raw.source_sha256, grader_code, secret.salt_sha256(salt))
    task_dir = home.task_dir(spec.slug, version)
    if not force and (task_dir / "task.json").is_file():
        # Not served here: curation.serving.serve points CURRENT at it once its checks and leaderboard pass.
        return TaskResult(spec.slug, version, task_dir, json.loads((task_dir / "task.json").read_text()), True)

    labeled_path = raw.raw_dir / LABELED_FILE
    with atomic_dir(task_dir) as tmp:
        public, private = tmp / "public", tmp / "private"
        public.mkdir()
        private.mkdir()
        written = write_split_files(spec, labeled_path, raw.raw_dir / "files", public, private, prediction, salt=salt)
        entries = [_file_entry(tmp, path, role, rows) for role, path, rows in written.files]
        classes, pred_columns = written.classes, written.prediction_columns
        (public / "description.md").write_text(spec.description.rstrip() + "\n", encoding="utf-8")
        entries.append(_file_entry(tmp, public / "description.md", "description", None))
        for extra in spec.files.extra:
            origin = raw.raw_dir / "files" / extra
            if origin.is_dir():
                shutil.copytree(origin, public / extra)
                entries.append(_dir_entry(tmp, public / extra, "extra"))
            else:
                shutil.copyfile(origin, public / Path(extra).name)
                entries.append(_file_entry(tmp, public / Path(extra).name, "extra", None))
        if spec.files.media:
            entries.append(_dir_entry(tmp, public / spec.files.media.public_dir, "media"))

        meta = {
            "slug": spec.slug,
            "title": spec.title,
            "task_version": version,
            "spec_sha256": spec.content_hash(),
            "source_sha256": raw.source_sha256,
            "secret_sha256": secret.salt_sha256(salt),  # which salt keyed the ids and the split; never the salt
            "split_code_version": SPLIT_CODE_VERSION,
            "task_type": spec.task_type,
            "metric": spec.metric.model_dump(mode="json"),
            "higher_is_better": higher_is_better,
            "prediction": prediction,
            "id_column": spec.id_column,
            "target_columns": list(spec.target_columns),
            "prediction_columns": pred_columns,
            "submission_format": spec.submission_format,
            "classes": classes,
            "split": spec.split.model_dump(mode="json"),
            "rows": written.rows,
            "tags": list(spec.tags),
        }
        grader_path = tmp / "grader.py"
        grader_path.write_text(render_grader(meta), encoding="utf-8")
        entries.append(_file_entry(tmp, grader_path, "grader", None))
        meta["files"] = entries
        (tmp / "task.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return TaskResult(spec.slug, version, task_dir, meta, False)
