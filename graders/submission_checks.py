"""Submission checks, scoring against answers, and the grade report.

Self-contained (numpy and polars only, plus `from graders.` imports of other embedded modules, which
render.py removes): render.py embeds this module's source in every task's grader.py, so the
in-package grader and the shipped one run the same code.
"""

from __future__ import annotations

import csv
import math
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from graders.ranking import medal, position_score

MAX_LISTED = 5  # how many offending ids or rows a message names before "and N more"
MAX_VALUE_CHARS = 60  # a listed value longer than this is cut: a hostile cell can be megabytes long
MAX_MESSAGE_CHARS = 2000  # no error message is longer, whatever the submission holds
HEADER_BYTES = 1 << 20  # a header line longer than this is refused before any parse
SIZE_FACTOR = 50  # a submission may be this many times the size of sample_submission.csv ...
SIZE_FLOOR = 16 << 20  # ... or this many bytes, whichever is larger (text predictions outgrow the sample)
BLOCK_BYTES = 8 << 20  # text parsed at a time by the block reader of all-number submissions
COMPARE_ROWS = 1 << 20  # rows handled at a time where a whole-column temporary is not needed


class SubmissionError(Exception):
    """A submission that cannot be scored; the message names the column or row at fault."""


def _shown(value: Any) -> str:
    """repr(value), cut to MAX_VALUE_CHARS."""
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _listing(values: list[Any]) -> str:
    """The first few values and how many more there are."""
    shown = ", ".join(_shown(v) for v in values[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return shown + (f" and {more:,} more" if more > 0 else "")


def capped(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`message` cut to `limit` characters, saying so."""
    if len(message) <= limit:
        return message
    tail = f" ... ({len(message) - limit:,} more characters cut)"
    return message[: limit - len(tail)] + tail


def column_mismatch(columns: list[str], expected: list[str]) -> str | None:
    """What is wrong with a submission's `columns` (missing and unexpected, the first few of each), or None."""
    wanted, present = set(expected), set(columns)
    missing = [c for c in expected if c not in present]
    extra = list(dict.fromkeys(c for c in columns if c not in wanted))
    if not missing and not extra and len(columns) == len(expected):
        return None
    count = f"{len(columns):,} column" + ("s" if len(columns) != 1 else "")
    parts = [f"the header has {count}"] if len(columns) != len(expected) else []
    if missing:
        parts.append(f"missing columns [{_listing(missing)}]")
    if extra:
        parts.append(f"unexpected columns [{_listing(extra)}]")
    repeated = [name for name, count in Counter(columns).items() if count > 1]
    if repeated:
        parts.append(f"repeated columns [{_listing(repeated)}]")
    return "; ".join(parts) + f" (expected exactly {expected}, as in sample_submission.csv)"


def max_submission_bytes(sample_size: int | None) -> int | None:
    """The largest submission file read, given the size of sample_submission.csv (None: no cap)."""
    return None if sample_size is None else max(SIZE_FACTOR * sample_size, SIZE_FLOOR)


def sample_bytes(task_dir: Path) -> int | None:
    """Size of a built task's public/sample_submission.csv, None when it has none."""
    sample = Path(task_dir) / "public" / "sample_submission.csv"
    return sample.stat().st_size if sample.is_file() else None


def read_header(path: Path) -> list[str]:
    """The column names on a CSV file's first line, reading at most HEADER_BYTES of it.

    Parsing a header of millions of columns with a CSV reader takes gigabytes; this reads one capped line
    with the csv module. Leading blank lines and a UTF-8 byte-order mark are skipped, as polars does.
    """
    with path.open("rb") as handle:
        head = handle.read(HEADER_BYTES + 1)
        longer = bool(handle.read(1))
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
    end = head.find(b"\n")
    if end < 0 and (longer or len(head) > HEADER_BYTES):
        raise SubmissionError(f"submission file {path}: header line longer than {HEADER_BYTES:,} bytes")
    line = (head if end < 0 else head[:end]).decode("utf-8", errors="replace").rstrip("\r")
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        raise SubmissionError(f"submission file {path}: the header is not valid CSV ({exc})") from exc


def warm_up() -> None:
    """Start polars' thread pools, so that their stacks are mapped before a memory limit is measured."""
    pl.DataFrame({"a": [1, 2]}).sum()


def expected_dtypes(answer_schema: Mapping[str, pl.DataType], meta: dict) -> dict[str, pl.DataType]:
    """The dtype each submission column should parse to: ids as in the answers, numbers as Float64."""
    id_dtype = answer_schema[meta["id_column"]]
    dtypes: dict[str, pl.DataType] = {meta["id_column"]: pl.Int64 if id_dtype.is_integer() else pl.String}
    for index, column in enumerate(meta["prediction_columns"]):
        if meta["prediction"] in ("number", "probability", "class_probabilities"):
            dtypes[column] = pl.Float64
        elif meta["prediction"] == "label" and answer_schema[meta["target_columns"][index]].is_integer():
            dtypes[column] = pl.Int64
        else:
            dtypes[column] = pl.String
    return dtypes


BOARDS = pl.Enum(["public", "private"])


def read_answers(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """private/answers.parquet (or some of its columns) with `board` as an enum (the task builder stores it
    so: on a 10M-row board an enum takes a fraction of the memory of text)."""
    answers = pl.read_parquet(path, columns=columns)
    if "board" not in answers.columns or answers.schema["board"] == BOARDS:
        return answers
    return answers.with_columns(pl.col("board").cast(BOARDS))


def _read_numbers_in_blocks(path: Path, header: list[str], dtypes: dict[str, pl.DataType]) -> pl.DataFrame | None:
    """A submission whose columns are all numbers, parsed a block of lines at a time into arrays.

    A whole-file CSV reader holds the file's text and the parsed columns together (2.7 times the data on
    a 10M-row submission); this holds one block of text. None when a block has quotes, empty cells or
    anything else that is not a clean number: the whole-file reader then takes over and the checks name
    the fault.
    """
    schema = {column: dtypes[column] for column in header}
    size = path.stat().st_size
    arrays: dict[str, np.ndarray] = {}
    filled = capacity = 0
    with path.open("rb") as handle:
        handle.readline()  # the header, read and checked by the caller
        while block := handle.read(BLOCK_BYTES):
            cut = block.rfind(b"\n") + 1
            if len(block) == BLOCK_BYTES:
                if not cut:
                    return None  # one line longer than a block holds no clean numbers
                handle.seek(cut - len(block), os.SEEK_CUR)
                block = block[:cut]
            if b'"' in block:
                return None  # a quoted field may hold a line break, so lines cannot be cut blindly
            try:
                parsed = pl.read_csv(block, has_header=False, schema=schema)
            except pl.exceptions.PolarsError:
                return None
            if any(parsed.null_count().row(0)):
                return None
            if filled + parsed.height > capacity:
                # Sized from the rows per byte seen so far, with room to spare: pages never written are
                # never resident, so the spare costs address space, not memory.
                capacity = int((filled + parsed.height) * size / max(handle.tell(), 1) * 1.25) + 1024
                arrays = {column: _grown(arrays.get(column), filled, capacity, dtypes[column]) for column in header}
            for column in header:
                arrays[column][filled : filled + parsed.height] = parsed[column].to_numpy()
            filled += parsed.height
    return pl.DataFrame({column: arrays[column][:filled] if arrays else [] for column in header}, schema=schema)


def _grown(old: np.ndarray | None, filled: int, capacity: int, dtype: pl.DataType) -> np.ndarray:
    """A new array of `capacity` rows holding the first `filled` rows of `old`."""
    new = np.empty(capacity, dtype=np.int64 if dtype == pl.Int64 else np.float64)
    if old is not None:
        new[:filled] = old[:filled]
    return new


def read_submission(
    source: str | Path | pl.DataFrame, dtypes: dict[str, pl.DataType] | None = None, max_bytes: int | None = None
) -> pl.DataFrame:
    """The submission, typed when it parses cleanly, else every column as text for the checks to explain.

    The typed path keeps a 10M-row grade fast and small (all-number submissions are read a block at a
    time); the text path only runs for a submission that is wrong somewhere, so that the message can name
    the row. A file over `max_bytes`, or whose header has not as many columns as `dtypes`, is refused
    before any parse.
    """
    if isinstance(source, pl.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        raise SubmissionError(f"submission file {path} does not exist")
    size = path.stat().st_size
    if size == 0:
        raise SubmissionError(f"submission file {path} is empty")
    if max_bytes is not None and size > max_bytes:
        raise SubmissionError(
            f"submission file {path} is {size:,} bytes, more than the {max_bytes:,} this task allows "
            f"({SIZE_FACTOR} times sample_submission.csv, at least {SIZE_FLOOR:,})"
        )
    if dtypes:
        columns = read_header(path)
        if len(columns) != len(dtypes):
            raise SubmissionError(column_mismatch(columns, list(dtypes)) or "the header does not match")
    try:
        if dtypes:
            header = pl.read_csv(path, n_rows=0, infer_schema=False).columns
            if sorted(header) == sorted(dtypes):
                if all(dtype in (pl.Int64, pl.Float64) for dtype in dtypes.values()):
                    typed = _read_numbers_in_blocks(path, header, dtypes)
                    if typed is not None:
                        return typed
                try:
                    return pl.read_csv(path, schema_overrides=dtypes, infer_schema=False, raise_if_empty=True)
                except pl.exceptions.ComputeError:
                    pass  # a value does not parse: the text path below finds and names it
        return pl.read_csv(path, infer_schema=False, raise_if_empty=True)
    except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as exc:
        raise SubmissionError(f"submission file {path} is not a readable CSV: {capped(str(exc), 300)}") from exc


def _as_text(series: pl.Series) -> pl.Series:
    return series if series.dtype == pl.String else series.cast(pl.String)


def _at_fault(sub: pl.DataFrame, mask: pl.Series, id_column: str) -> pl.DataFrame:
    """The rows where `mask` holds, in id order: messages name the same rows whatever the file's row order."""
    return sub.filter(mask).sort(id_column)


def _parse_numbers(sub: pl.DataFrame, column: str, id_column: str, allow_nan: bool) -> pl.Series:
    if sub.schema[column].is_numeric():
        parsed = sub[column].cast(pl.Float64)
        bad = _at_fault(sub, parsed.is_null(), id_column) if not allow_nan else sub.clear()
    else:
        text = _as_text(sub[column]).str.strip_chars()
        parsed = text.cast(pl.Float64, strict=False)
        bad = _at_fault(sub, parsed.is_null() & ~(text.is_null() & allow_nan), id_column)
    if bad.height:
        rows = [
            f"{capped(str(row[id_column]), MAX_VALUE_CHARS)}={_shown(row[column])}"
            for row in bad.head(MAX_LISTED).iter_rows(named=True)
        ]
        more = f" and {bad.height - MAX_LISTED:,} more" if bad.height > MAX_LISTED else ""
        raise SubmissionError(
            f"column {column!r}: {bad.height:,} values are not numbers (id=value: {', '.join(rows)}{more})"
        )
    if not allow_nan:
        nonfinite = _at_fault(sub, ~parsed.is_finite(), id_column)
        if nonfinite.height:
            ids = nonfinite[id_column].to_list()
            raise SubmissionError(f"column {column!r}: NaN or infinite values at ids {_listing(ids)}")
    return parsed


def _parse_labels(sub: pl.DataFrame, column: str, id_column: str, answer_dtype: pl.DataType) -> pl.Series:
    if answer_dtype.is_integer() and sub.schema[column].is_integer():
        values = sub[column]
        if values.null_count():
            missing = _at_fault(sub, values.is_null(), id_column)
            raise SubmissionError(f"column {column!r}: empty labels at ids {_listing(missing[id_column].to_list())}")
        return values.cast(pl.Int64)
    values = _as_text(sub[column]).str.strip_chars()
    missing = _at_fault(sub, values.is_null() | (values == ""), id_column)
    if missing.height:
        raise SubmissionError(f"column {column!r}: empty labels at ids {_listing(missing[id_column].to_list())}")
    if answer_dtype.is_integer():
        as_float = values.cast(pl.Float64, strict=False)
        bad = _at_fault(sub, as_float.is_null() | (as_float != as_float.round(0)), id_column)
        if bad.height:
            raise SubmissionError(
                f"column {column!r}: labels must be integers; bad values {_listing(bad[column].to_list())}"
            )
        return as_float.cast(pl.Int64)
    if answer_dtype.is_float():
        return _parse_numbers(sub.with_columns(values.alias(column)), column, id_column, allow_nan=False)
    if answer_dtype == pl.Boolean:
        lowered = values.str.to_lowercase()
        bad = _at_fault(sub, ~lowered.is_in(["true", "false", "1", "0"]), id_column)
        if bad.height:
            raise SubmissionError(
                f"column {column!r}: expected True/False; bad values {_listing(bad[column].to_list())}"
            )
        return lowered.is_in(["true", "1"])
    return values


def _answer_ids(answers: pl.DataFrame, id_column: str) -> pl.Series:
    """Answer ids in the dtype submissions are compared in: Int64 for integer ids, else text."""
    ids = answers[id_column]
    return ids.cast(pl.Int64) if ids.dtype.is_integer() else _as_text(ids)


def _order_if_same_ids(ids: pl.Series, answer_ids: pl.Series) -> pl.Series | None:
    """The row order that sorts `ids`, if sorted they equal the sorted, unique `answer_ids`; else None."""
    if ids.dtype == pl.Int64 and answer_ids.len() and _row_bits(ids.len()) + _range_bits(answer_ids) <= 63:
        return _packed_id_order(ids.to_numpy(), answer_ids)
    order = ids.arg_sort()
    return order if ids.gather(order).equals(answer_ids) else None


def _row_bits(rows: int) -> int:
    """Bits that hold a row number below `rows`."""
    return max(1, (rows - 1).bit_length())


def _range_bits(sorted_ids: pl.Series) -> int:
    """Bits that hold an id's offset from the smallest id."""
    return (int(sorted_ids[-1]) - int(sorted_ids[0])).bit_length()


def _packed_id_order(ids: np.ndarray, answer_ids: pl.Series) -> pl.Series | None:
    """`_order_if_same_ids` for integer ids, by sorting (id - min) << bits | row as one integer per row.

    A plain sort of one integer column is several times faster than an arg-sort, and the row number rides
    along in the low bits; the caller checks that id range and row number fit in 63 bits together.
    """
    n = len(ids)
    low, high = int(answer_ids[0]), int(answer_ids[-1])
    if n != answer_ids.len() or int(ids.min()) != low or int(ids.max()) != high:
        return None
    bits = _row_bits(n)
    packed = ids - low
    packed <<= bits
    for start in range(0, n, COMPARE_ROWS):
        packed[start : start + COMPARE_ROWS] |= np.arange(start, min(start + COMPARE_ROWS, n))
    packed.sort()
    for start in range(0, n, COMPARE_ROWS):
        expected = answer_ids.slice(start, COMPARE_ROWS).to_numpy()
        if not np.array_equal((packed[start : start + COMPARE_ROWS] >> bits) + low, expected):
            return None
    packed &= (1 << bits) - 1
    return pl.Series("order", packed)


def align(sub: pl.DataFrame, answer_ids: pl.Series, meta: dict) -> tuple[pl.DataFrame, pl.Series]:
    """Check columns and ids against the sorted `answer_ids`; return the submission (columns in order, ids
    typed like the answers', rows as in the file) and the row order that sorts it by id, so that row k of
    the order lines up with answer row k."""
    id_column = meta["id_column"]
    expected = [id_column, *meta["prediction_columns"]]
    problem = column_mismatch(sub.columns, expected)
    if problem:
        raise SubmissionError(problem)
    sub = sub.select(expected)
    raw_ids = sub[id_column]
    if raw_ids.dtype == answer_ids.dtype and not raw_ids.null_count() and raw_ids.len() == answer_ids.len():
        # Fast path for a well-formed submission: equal sorted ids mean the same set (answer ids are unique),
        # found with one sort instead of three hash passes over millions of rows. Only the order is kept, not
        # a sorted copy of the whole submission.
        order = _order_if_same_ids(raw_ids, answer_ids)
        if order is not None:
            return sub, order
    if raw_ids.dtype != answer_ids.dtype:
        text = _as_text(raw_ids).str.strip_chars()
        if text.is_null().any() or (text == "").any():
            raise SubmissionError(f"column {id_column!r}: {int((text.is_null() | (text == '')).sum()):,} empty ids")
        ids = text.cast(answer_ids.dtype, strict=False) if answer_ids.dtype.is_integer() else text
        unparsed = text.filter(ids.is_null()).to_list()
        if unparsed:
            raise SubmissionError(f"column {id_column!r}: ids not in the test set {_listing(unparsed)}")
    else:
        ids = raw_ids
        if ids.null_count():
            raise SubmissionError(f"column {id_column!r}: {ids.null_count():,} empty ids")
    duplicated = ids.filter(ids.is_duplicated()).unique(maintain_order=True).to_list()
    if duplicated:
        raise SubmissionError(f"column {id_column!r}: duplicated ids {_listing([str(d) for d in duplicated])}")
    unknown = ids.filter(~ids.is_in(answer_ids.implode())).to_list()
    if unknown:
        raise SubmissionError(f"column {id_column!r}: ids not in the test set {_listing([str(u) for u in unknown])}")
    if ids.len() != answer_ids.len():
        absent = answer_ids.filter(~answer_ids.is_in(ids.implode())).to_list()
        raise SubmissionError(
            f"column {id_column!r}: {len(absent):,} test ids are missing: {_listing([str(a) for a in absent])}"
        )
    return sub.with_columns(ids.alias(id_column)), ids.arg_sort()


def _typed_predictions(
    sub: pl.DataFrame, answer_schema: Mapping[str, pl.DataType], meta: dict, allows_nan: bool
) -> pl.DataFrame:
    id_column, kind = meta["id_column"], meta["prediction"]
    typed = {id_column: sub[id_column]}
    for index, column in enumerate(meta["prediction_columns"]):
        if kind in ("number", "probability", "class_probabilities"):
            values = _parse_numbers(sub, column, id_column, allow_nan=allows_nan)
            if kind != "number":
                outside = _at_fault(sub, (values < 0) | (values > 1), id_column)
                if outside.height:
                    raise SubmissionError(
                        f"column {column!r}: probabilities must lie in [0, 1]; "
                        f"ids {_listing(outside[id_column].to_list())} do not"
                    )
        elif kind == "label":
            target = meta["target_columns"][index]
            values = _parse_labels(sub, column, id_column, answer_schema[target])
            classes = meta.get("classes")
            if classes is not None:
                unknown = _at_fault(sub, ~_as_text(values).is_in(classes), id_column)
                if unknown.height:
                    labels = unknown[column].unique(maintain_order=True).to_list()
                    raise SubmissionError(
                        f"column {column!r}: labels {_listing(labels)} are not among the classes {_listing(classes)}"
                    )
        else:
            values = _as_text(sub[column]).fill_null("")
        typed[column] = values
    return pl.DataFrame(typed)


def _as_array(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    if len(columns) == 1:
        return frame[columns[0]].to_numpy()
    return frame.select(columns).to_numpy()


def _checked_board_arrays(
    source, answers: pl.DataFrame | Path, meta: dict, board: str, metric, max_bytes: int | None = None
):
    """(y_true, y_pred) on `board` after every check, raising SubmissionError that names the problem.

    Given the path of answers.parquet, the ids are read only once the submission is parsed (the reader's
    buffers and the answers are never in memory together) and the targets only for the board's rows,
    once the ids are gone.
    """
    id_column, targets = meta["id_column"], meta["target_columns"]
    schema = pl.read_parquet_schema(answers) if isinstance(answers, Path) else answers.schema
    sub = read_submission(source, expected_dtypes(schema, meta), max_bytes)
    path = answers if isinstance(answers, Path) else None
    if path is not None:
        answers = read_answers(path, [id_column, "board"])
    answer_ids = _answer_ids(answers, id_column)
    if not answer_ids.is_sorted():  # the task builder writes answers sorted by id; a hand-made file may not be
        if path is not None:
            answers, path = read_answers(path), None
        answers = answers.with_columns(_answer_ids(answers, id_column).alias(id_column)).sort(id_column)
        answer_ids = answers[id_column]
    sub, order = align(sub, answer_ids, meta)
    predictions = _typed_predictions(sub, schema, meta, metric.allows_nan).select(meta["prediction_columns"])
    del sub, answer_ids  # the ids have done their work; on a 10M-row board they are 80 MB each
    on_board = answers["board"] == board
    if not on_board.any():
        raise SubmissionError(f"the {board} board has no rows")
    # Row k of `order` is the submission row holding answer row k's id, so rows line up without a join.
    rows = order.filter(on_board)
    del order
    if path is None:
        truth = answers.select(targets).filter(on_board)
    else:
        del answers, on_board
        truth = pl.scan_parquet(path).filter(pl.col("board") == board).select(targets).collect()
    return _as_array(truth, targets), _as_array(predictions.select(pl.all().gather(rows)), meta["prediction_columns"])


def score_submission(
    source: str | Path | pl.DataFrame,
    answers: pl.DataFrame | Path,
    meta: dict,
    board: str,
    metric,
    max_bytes: int | None = None,
) -> float:
    """Check a submission and score it on `board`; raise SubmissionError with a clear message if it is invalid.

    `answers` is the frame of private/answers.parquet or that file's path (then read after the submission,
    which keeps a multi-million-row grade's peak memory low); `metric` is a graders.metrics.Metric; `meta`
    is the task.json dict.
    """
    if board not in ("public", "private"):
        raise SubmissionError(f"board must be 'public' or 'private', not {board!r}")
    y_true, y_pred = _checked_board_arrays(source, answers, meta, board, metric, max_bytes)
    params = dict(metric.defaults) | dict(meta["metric"].get("params") or {})
    if meta["prediction"] == "class_probabilities":
        params["labels"] = list(meta["prediction_columns"])
        y_true = y_true.astype(str)
    try:
        value = float(metric.fn(y_true, y_pred, **params))
    except (ValueError, TypeError, ZeroDivisionError, IndexError, KeyError) as exc:
        raise SubmissionError(f"metric {metric.name} could not score this submission: {capped(str(exc), 500)}") from exc
    if math.isnan(value):
        raise SubmissionError(f"metric {metric.name} is undefined for this submission (NaN)")
    return value


def board_scores(leaderboard_dir: Path, board: str) -> tuple[list[float], int | None]:
    """Scores of the newest leaderboard snapshot on `board` (falling back to private) and its team count."""
    snapshots = sorted(leaderboard_dir.glob("*.parquet")) if leaderboard_dir.is_dir() else []
    if not snapshots:
        return [], None
    frame = pl.read_parquet(snapshots[-1])
    # A Kaggle board is ranked on Kaggle's private leaderboard whichever of our boards is graded (as MLE-bench
    # does); a reference ladder was scored on both of our boards, so it is compared board to board.
    kaggle = bool((frame["kind"] == "kaggle").any())
    has_private = bool((frame["board"] == "private").any())
    if kaggle:
        chosen = "private" if has_private else "public"
    else:
        chosen = board if (frame["board"] == board).any() else "private"
    rows = frame.filter(pl.col("board") == chosen).drop_nulls("score")
    teams = rows["team_count"].max() if "team_count" in rows.columns and rows.height else None
    return rows["score"].cast(pl.Float64).to_list(), int(teams) if teams is not None else None


def invalid_report(meta: dict, board: str, error: str | None) -> dict:
    """The report of a submission that was not scored, `error` saying why (cut to MAX_MESSAGE_CHARS)."""
    return {
        "competition": meta["slug"],
        "valid": False,
        "score": None,
        "board": board,
        "error": None if error is None else capped(error),
        "position_score": None,
        "medal": None,
        "higher_is_better": bool(meta["higher_is_better"]),
    }


def grade(
    source: str | Path | pl.DataFrame,
    answers: pl.DataFrame | Path,
    meta: dict,
    board: str,
    metric,
    scores_on_board: list[float],
    team_count: int | None,
    max_bytes: int | None = None,
) -> dict:
    """The grade report: never raises for a bad submission, it says what is wrong in `error` (at most
    MAX_MESSAGE_CHARS long). A submission file over `max_bytes` is refused unread."""
    report = invalid_report(meta, board, None)
    try:
        value = score_submission(source, answers, meta, board, metric, max_bytes)
    except SubmissionError as exc:
        report["error"] = capped(str(exc))
        return report
    report["valid"] = True
    report["score"] = value
    if scores_on_board:
        report["position_score"] = position_score(value, scores_on_board, meta["higher_is_better"])
        report["medal"] = medal(value, scores_on_board, meta["higher_is_better"], team_count)
    return report
