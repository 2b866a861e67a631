"""Build a task directory (public files, private answers, grader, task.json) from a spec and its raw data."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curation.layout import Home, atomic_dir, set_current
from curation.sources import LABELED_FILE, RawResult, file_sha256, read_table, write_table
from curation.spec import CompetitionSpec
from curation.splits import BOARD, SIDE, SPLIT_CODE_VERSION, assign_split, canonical_order, drop_split_columns

# Bump when the layout or content of task files changes.
TASK_CODE_VERSION = "task-1"

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


def task_version(spec: CompetitionSpec, source_sha256: str, grader_code: str) -> str:
    """Content hash of (spec, source data, split/task code, grader code): same inputs, same version."""
    parts = [spec.content_hash(), source_sha256, SPLIT_CODE_VERSION, TASK_CODE_VERSION, grader_code]
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
    version = task_version(spec, raw.source_sha256, grader_code)
    task_dir = home.task_dir(spec.slug, version)
    if not force and (task_dir / "task.json").is_file():
        set_current(home.task_root(spec.slug), version)
        return TaskResult(spec.slug, version, task_dir, json.loads((task_dir / "task.json").read_text()), True)

    labeled = read_table(raw.raw_dir / LABELED_FILE)
    split = assign_split(labeled, spec.id_column, spec.split)
    split = canonical_order(split, spec.id_column, spec.split)
    classes = _classes(spec, labeled, prediction)
    pred_columns = prediction_columns(spec, classes)
    fmt = spec.files.format

    with atomic_dir(task_dir) as tmp:
        public, private = tmp / "public", tmp / "private"
        public.mkdir()
        private.mkdir()
        if spec.files.media:
            split = _copy_media(spec, raw.raw_dir / "files", split, public)
        train = drop_split_columns(split.filter(pl.col(SIDE) == "train"))
        test_full = split.filter(pl.col(SIDE) == "test")
        test = drop_split_columns(test_full).drop(spec.target_columns)
        answers = test_full.select(spec.id_column, *spec.target_columns, BOARD)

        def public_name(name: str) -> str:
            return str(Path(name).with_suffix(f".{fmt}"))

        entries = []
        for frame, name, role in ((train, spec.files.train, "train"), (test, spec.files.test, "test")):
            path = public / public_name(name)
            write_table(frame, path)
            entries.append(_file_entry(tmp, path, role, frame.height))
        sample = pl.DataFrame(
            {spec.id_column: test[spec.id_column]} | _sample_values(spec, train, prediction, pred_columns, test.height)
        )
        sample_path = public / spec.files.sample_submission
        write_table(sample, sample_path)
        entries.append(_file_entry(tmp, sample_path, "sample_submission", sample.height))
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
        answers_path = private / "answers.parquet"
        write_table(answers, answers_path)
        entries.append(_file_entry(tmp, answers_path, "answers", answers.height))

        meta = {
            "slug": spec.slug,
            "title": spec.title,
            "task_version": version,
            "spec_sha256": spec.content_hash(),
            "source_sha256": raw.source_sha256,
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
            "rows": {
                "train": train.height,
                "test": test.height,
                "public": int((answers[BOARD] == "public").sum()),
                "private": int((answers[BOARD] == "private").sum()),
            },
            "tags": list(spec.tags),
        }
        grader_path = tmp / "grader.py"
        grader_path.write_text(render_grader(meta), encoding="utf-8")
        entries.append(_file_entry(tmp, grader_path, "grader", None))
        meta["files"] = entries
        (tmp / "task.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    set_current(home.task_root(spec.slug), version)
    return TaskResult(spec.slug, version, task_dir, meta, False)
