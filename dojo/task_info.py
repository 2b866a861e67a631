"""What request_info answers: overview, files, submission format, metric and leaderboard, as text and facts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from dojo.task import ServedTask
from graders.metrics import get_metric

PREVIEW_ROWS = 3
MAX_COLUMNS_SHOWN = 60
MAX_CELL_CHARS = 60

_PREDICTION_HELP = {
    "label": "a class label per row (one of the classes listed), in the target's own type",
    "probability": "the probability of the positive class (1) per row, a float in [0, 1]",
    "class_probabilities": "one column per class holding that class's probability, floats in [0, 1]",
    "number": "a finite number per row",
    "text": "a text value per row in the format the metric describes",
}


@dataclass(frozen=True)
class Paths:
    """Where agent code finds the task's files and where it writes (as the code sees them)."""

    data_dir: str
    work_dir: str


def task_facts(task: ServedTask, paths: Paths) -> dict:
    """The task as structured data (for scripted agents): columns, metric, files as the code sees them."""
    meta = task.meta
    metric = get_metric(meta["metric"]["name"])
    files = {
        entry["role"] if entry["role"] != "extra" else entry["path"]: f"{paths.data_dir}/{entry['path'][7:]}"
        for entry in meta["files"]
        if entry["path"].startswith("public/")
    }
    return {
        "slug": task.slug,
        "title": meta["title"],
        "task_type": meta["task_type"],
        "metric": {
            "name": metric.name,
            "params": dict(meta["metric"].get("params") or {}),
            "prediction": meta.get("prediction", metric.prediction),
            "higher_is_better": bool(meta["higher_is_better"]),
        },
        "id_column": meta["id_column"],
        "target_columns": list(meta["target_columns"]),
        "prediction_columns": list(meta["prediction_columns"]),
        "submission_format": meta["submission_format"],
        "classes": list(meta["classes"]) if meta.get("classes") is not None else None,
        "rows": dict(meta["rows"]),
        "files": files,
        "data_dir": paths.data_dir,
        "work_dir": paths.work_dir,
    }


def overview_text(task: ServedTask, paths: Paths) -> str:
    """Title, type, metric, sizes, where things are, and the task's own description.md."""
    meta = task.meta
    description_file = task.public_dir / (task.public_file("description") or "description.md")
    description = description_file.read_text(encoding="utf-8").strip() if description_file.is_file() else ""
    direction = "higher is better" if meta["higher_is_better"] else "lower is better"
    rows = meta["rows"]
    return "\n".join(
        [
            f"# {meta['title']} ({task.slug})",
            f"Task type: {meta['task_type']}. Metric: {meta['metric']['name']} ({direction}).",
            f"Rows: {rows['train']:,} train, {rows['test']:,} test "
            f"({rows['public']:,} scored on the public board during the episode, {rows['private']:,} on the "
            "private board at submit).",
            f"Files are in {paths.data_dir} (read-only). Your code runs with {paths.work_dir} as the current "
            "directory (writable, kept between runs); write submission.csv there.",
            "",
            description,
        ]
    )


def _frame_preview(path: Path, fmt: str) -> tuple[dict[str, pl.DataType], pl.DataFrame]:
    """Schema (inferred from the first rows) and a few rows of a CSV or Parquet file, without reading it all."""
    scan = pl.scan_parquet(path) if fmt == "parquet" else pl.scan_csv(path, infer_schema_length=1000)
    return dict(scan.collect_schema()), scan.head(PREVIEW_ROWS).collect()


def _cell(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 3] + "..."


def _describe_table(title: str, path: Path, entry: dict, notes: dict[str, str]) -> list[str]:
    fmt = "parquet" if path.suffix == ".parquet" else "csv"
    schema, head = _frame_preview(path, fmt)
    rows = entry.get("rows")
    lines = [f"## {title} ({rows:,} rows, {len(schema)} columns, {entry['bytes']:,} bytes)" if rows else f"## {title}"]
    for index, (column, dtype) in enumerate(schema.items()):
        if index == MAX_COLUMNS_SHOWN:
            lines.append(f"- ... and {len(schema) - MAX_COLUMNS_SHOWN} more columns")
            break
        examples = ", ".join(_cell(v) for v in head[column].to_list())
        note = f" [{notes[column]}]" if column in notes else ""
        lines.append(f"- {column}: {dtype}{note}; e.g. {examples}")
    return lines


def data_structure_text(task: ServedTask, paths: Paths) -> str:
    """Every public file with its size, and the columns, types and first values of each table."""
    meta = task.meta
    notes = {meta["id_column"]: "id"} | {column: "target" for column in meta["target_columns"]}
    lines = [f"Files under {paths.data_dir}:"]
    for entry in meta["files"]:
        if entry["path"].startswith("public/"):
            rows = f", {entry['rows']:,} {'files' if entry['role'] == 'media' else 'rows'}" if entry.get("rows") else ""
            lines.append(f"- {paths.data_dir}/{entry['path'][7:]} ({entry['role']}, {entry['bytes']:,} bytes{rows})")
    for entry in meta["files"]:
        path = task.task_dir / entry["path"]
        if entry["role"] in ("train", "test") and path.suffix in (".csv", ".parquet"):
            lines.append("")
            lines += _describe_table(f"{paths.data_dir}/{entry['path'][7:]}", path, entry, notes)
        elif entry["role"] == "media":
            names = sorted(p.name for p in itertools.islice(path.iterdir(), 3)) if path.is_dir() else []
            lines.append("")
            count = entry.get("rows") or 0
            lines.append(
                f"## {paths.data_dir}/{entry['path'][7:]}/ ({count:,} files, e.g. {', '.join(names)}); "
                "a column of train and test holds each row's file path relative to the data dir"
            )
    return "\n".join(lines)


def sample_submission_text(task: ServedTask, paths: Paths) -> str:
    """The submission's exact columns, what each must hold, and the first rows of sample_submission.csv."""
    meta = task.meta
    name = task.public_file("sample_submission") or "sample_submission.csv"
    prediction = meta.get("prediction") or get_metric(meta["metric"]["name"]).prediction
    schema, head = _frame_preview(task.public_dir / name, "csv")
    lines = [
        f"submission.csv must have exactly the columns {[meta['id_column'], *meta['prediction_columns']]}, "
        f"one row per id of test ({meta['rows']['test']:,} rows), like {paths.data_dir}/{name}.",
        f"Each prediction column holds {_PREDICTION_HELP.get(prediction, prediction)}.",
    ]
    if meta.get("classes") is not None:
        classes = meta["classes"]
        shown = ", ".join(map(str, classes[:30])) + (" ..." if len(classes) > 30 else "")
        lines.append(f"Classes ({len(classes)}): {shown}.")
    lines.append(f"Write it to {paths.work_dir}/submission.csv (the current directory), without an index column.")
    lines.append("")
    lines.append(f"First rows of {name}:")
    lines.append(",".join(schema))
    for row in head.iter_rows():
        lines.append(",".join(_cell(v).strip("'") for v in row))
    return "\n".join(lines)


def metric_text(task: ServedTask) -> str:
    """The metric, its parameters and direction, and what a prediction must be."""
    meta = task.meta
    metric = get_metric(meta["metric"]["name"])
    params = dict(meta["metric"].get("params") or {})
    direction = "higher is better" if meta["higher_is_better"] else "lower is better"
    prediction = meta.get("prediction", metric.prediction)
    return "\n".join(
        [
            f"Metric: {metric.name} ({direction}){' with parameters ' + str(params) if params else ''}.",
            metric.description,
            f"Predictions: {_PREDICTION_HELP.get(prediction, prediction)}.",
            "During the episode, execute_code scores submission.csv on the public board (part of the test rows); "
            "submit scores it on the private board (the other rows), which decides the final result.",
        ]
    )


def leaderboard_text(task: ServedTask) -> str:
    """The public board's entries, best first, and how the position score is computed."""
    board = task.leaderboard()
    if board is None or board.is_empty():
        return "This task has no leaderboard: scores are reported without a position."
    name = "public" if (board["board"] == "public").any() else "private"
    rows = board.filter(pl.col("board") == name).sort("rank")
    kind = str(rows["kind"][0]) if rows.height else "reference"
    direction = "higher is better" if task.meta["higher_is_better"] else "lower is better"
    lines = [
        f"{name.capitalize()} leaderboard ({kind}, {rows.height} entries, {task.meta['metric']['name']}, {direction}):"
    ]
    for row in rows.head(30).iter_rows(named=True):
        entry = f" {row['entry']}" if row.get("entry") else ""
        lines.append(f"{row['rank']:>4}. {row['score']:.6g}{entry}")
    if rows.height > 30:
        lines.append(f"  ... {rows.height - 30} more entries")
    lines.append(
        "Position score = (N - p + 1) / N, where p is the best rank your score matches or beats; "
        "1.0 is the top of the board, 0.0 below every entry."
    )
    return "\n".join(lines)


def info_text(task: ServedTask, paths: Paths, info_type: str) -> str:
    """The answer to request_info with `info_type` (one of actions.INFO_TYPES)."""
    sections = {
        "overview": lambda: overview_text(task, paths),
        "data_structure": lambda: data_structure_text(task, paths),
        "sample_submission": lambda: sample_submission_text(task, paths),
        "metric": lambda: metric_text(task),
        "leaderboard": lambda: leaderboard_text(task),
    }
    if info_type == "all":
        return "\n\n".join(build() for build in sections.values())
    return sections[info_type]()
