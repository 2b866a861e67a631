"""Every submission failure gives a clear message naming the column or row; nothing raises out of grade()."""

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error

from graders.metrics import get_metric
from graders.ranking import leaderboard_rank, medal, medal_ranks, position_score
from graders.submission_checks import grade

ANSWERS = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6],
        "label": ["cat", "dog", "cat", "bird", "dog", "cat"],
        "value": [1.0, 2.5, 3.0, 0.5, 4.0, 2.0],
        "board": ["public", "public", "public", "private", "private", "private"],
    }
)


def meta(prediction: str, metric: str, columns: list[str], targets: list[str], classes=None) -> dict:
    return {
        "slug": "toy",
        "id_column": "id",
        "target_columns": targets,
        "prediction_columns": columns,
        "prediction": prediction,
        "metric": {"name": metric, "params": {}},
        "higher_is_better": get_metric(metric).higher_is_better,
        "classes": classes,
    }


LABEL_META = meta("label", "accuracy", ["label"], ["label"], ["bird", "cat", "dog"])
NUMBER_META = meta("number", "rmse", ["value"], ["value"])
PROBA_META = meta(
    "class_probabilities", "multiclass_log_loss", ["bird", "cat", "dog"], ["label"], ["bird", "cat", "dog"]
)


def run(csv_text: str, task_meta: dict, tmp_path, board: str = "public") -> dict:
    path = tmp_path / "submission.csv"
    path.write_text(csv_text)
    metric = get_metric(task_meta["metric"]["name"])
    return grade(path, ANSWERS, task_meta, board, metric, [], None)


def test_valid_label_submission_matches_sklearn(tmp_path):
    report = run("id,label\n1,cat\n2,cat\n3,cat\n4,bird\n5,dog\n6,dog\n", LABEL_META, tmp_path, "private")
    assert report["valid"] and report["error"] is None
    assert report["score"] == pytest.approx(accuracy_score(["bird", "dog", "cat"], ["bird", "dog", "dog"]))


def test_column_order_and_row_order_do_not_matter(tmp_path):
    report = run("value,id\n3.0,3\n1.0,1\n2.0,2\n0.5,4\n4.0,5\n2.0,6\n", NUMBER_META, tmp_path)
    assert report["valid"] and report["score"] == pytest.approx(0.5 / 3**0.5)
    assert report["score"] == pytest.approx(mean_squared_error([1.0, 2.5, 3.0], [1.0, 2.0, 3.0]) ** 0.5)


def test_class_probabilities_match_sklearn_log_loss(tmp_path):
    rows = "id,bird,cat,dog\n" + "\n".join(f"{i},0.2,0.5,0.3" for i in range(1, 7)) + "\n"
    report = run(rows, PROBA_META, tmp_path)
    expected = log_loss(["cat", "dog", "cat"], [[0.2, 0.5, 0.3]] * 3, labels=["bird", "cat", "dog"])
    assert report["valid"] and report["score"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "task_meta", "message"),
    [
        ("", LABEL_META, "is empty"),
        ("\x00\x01\x02garbage", LABEL_META, "missing columns"),
        ("id\n1\n2\n3\n4\n5\n6\n", LABEL_META, "missing columns ['label']"),
        (
            "id,label,extra\n1,cat,x\n2,cat,x\n3,cat,x\n4,cat,x\n5,cat,x\n6,cat,x\n",
            LABEL_META,
            "unexpected columns ['extra']",
        ),
        ("id,label\n1,cat\n1,cat\n3,cat\n4,cat\n5,cat\n6,cat\n", LABEL_META, "duplicated ids '1'"),
        ("id,label\n1,cat\n2,cat\n3,cat\n4,cat\n5,cat\n", LABEL_META, "1 test ids are missing: '6'"),
        ("id,label\n1,cat\n2,cat\n3,cat\n4,cat\n5,cat\n6,cat\n99,cat\n", LABEL_META, "ids not in the test set '99'"),
        ("id,label\n1,cat\n2,\n3,cat\n4,cat\n5,cat\n6,cat\n", LABEL_META, "column 'label': empty labels at ids 2"),
        (
            "id,label\n1,cat\n2,fish\n3,cat\n4,cat\n5,cat\n6,cat\n",
            LABEL_META,
            "labels 'fish' are not among the classes 'bird', 'cat', 'dog'",
        ),
        ("id,value\n1,1\n2,abc\n3,1\n4,1\n5,1\n6,1\n", NUMBER_META, "column 'value': 1 values are not numbers"),
        (
            "id,value\n1,1\n2,nan\n3,1\n4,1\n5,1\n6,1\n",
            NUMBER_META,
            "column 'value': NaN or infinite values at ids 2",
        ),
        (
            "id,value\n1,1\n2,inf\n3,1\n4,1\n5,1\n6,1\n",
            NUMBER_META,
            "column 'value': NaN or infinite values at ids 2",
        ),
        (
            "id,bird,cat,dog\n" + "\n".join(f"{i},0.2,1.5,0.3" for i in range(1, 7)),
            PROBA_META,
            "probabilities must lie in [0, 1]",
        ),
    ],
)
def test_each_failure_is_reported_not_raised(tmp_path, text, task_meta, message):
    report = run(text, task_meta, tmp_path)
    assert report["valid"] is False and report["score"] is None
    assert message in report["error"]


def test_missing_file_is_reported(tmp_path):
    report = grade(tmp_path / "nope.csv", ANSWERS, LABEL_META, "public", get_metric("accuracy"), [], None)
    assert not report["valid"] and "does not exist" in report["error"]


def test_unknown_board_is_reported(tmp_path):
    report = run("id,label\n1,cat\n", LABEL_META, tmp_path, board="secret")
    assert "board must be" in report["error"]


def test_integer_labels_accept_integral_floats_only(tmp_path):
    answers = ANSWERS.with_columns(pl.Series("label", [0, 1, 0, 2, 1, 0]))
    task_meta = meta("label", "accuracy", ["label"], ["label"], ["0", "1", "2"])
    path = tmp_path / "s.csv"
    path.write_text("id,label\n1,0.0\n2,1\n3,0\n4,2\n5,1\n6,0\n")
    assert grade(path, answers, task_meta, "public", get_metric("accuracy"), [], None)["score"] == 1.0
    path.write_text("id,label\n1,0.5\n2,1\n3,0\n4,2\n5,1\n6,0\n")
    assert "must be integers" in grade(path, answers, task_meta, "public", get_metric("accuracy"), [], None)["error"]


def test_position_score_and_rank():
    board = [0.9, 0.8, 0.7, 0.6]
    assert leaderboard_rank(0.95, board, True) == 1
    assert position_score(0.95, board, True) == 1.0
    assert position_score(0.8, board, True) == 0.75  # matching rank 2 counts as rank 2
    assert position_score(0.1, board, True) == 0.0
    assert position_score(0.65, [0.6, 0.7, 0.8, 0.9], False) == 0.75
    assert position_score(0.55, [0.6, 0.7, 0.8, 0.9], False) == 1.0
    with pytest.raises(ValueError):
        position_score(1.0, [], True)


@pytest.mark.parametrize(
    ("teams", "expected"),
    [
        (50, {"gold": 5, "silver": 10, "bronze": 20}),
        (200, {"gold": 10, "silver": 40, "bronze": 80}),
        (500, {"gold": 11, "silver": 50, "bronze": 100}),
        (2000, {"gold": 14, "silver": 100, "bronze": 200}),
        (5, {"gold": 1, "silver": 1, "bronze": 2}),
    ],
)
def test_medal_thresholds_follow_kaggle(teams, expected):
    assert medal_ranks(teams) == expected


def test_medal_for_score():
    board = [float(s) for s in range(100, 0, -1)]  # 100 entries, higher is better
    assert medal(100.0, board, True) == "gold"
    assert medal(85.0, board, True) == "silver"  # rank 16
    assert medal(70.0, board, True) == "bronze"  # rank 31
    assert medal(10.0, board, True) is None


NUMBER_DTYPES = {"id": pl.Int64, "value": pl.Float64}


@pytest.mark.parametrize(
    "text",
    [
        "id,value\n" + "".join(f"{i},{i / 7:.6f}\n" for i in range(200)),
        "id,value\r\n" + "".join(f"{i},{i / 7:.6f}\r\n" for i in range(200)),  # Windows line ends
        "id,value\n" + "\n".join(f"{i},{i / 7:.6f}" for i in range(200)),  # no newline at the end
        "value,id\n" + "".join(f"{i * 1e-3:.3e},{-i}\n" for i in range(200)),  # columns swapped, exponents
        "id,value\n",  # header only
        # long lines first, then thousands of short ones: the arrays sized from the first blocks must grow
        "id,value\n" + "".join(f"{i},{i / 7:.40f}\n" for i in range(20)) + "".join(f"{i},1\n" for i in range(20, 3000)),
    ],
)
def test_block_reader_matches_whole_file_read(tmp_path, monkeypatch, text):
    import graders.submission_checks as checks

    monkeypatch.setattr(checks, "BLOCK_BYTES", 64)  # many blocks, lines cut at every boundary
    path = tmp_path / "s.csv"
    path.write_text(text, newline="")
    header = pl.read_csv(path, n_rows=0).columns
    blocks = checks._read_numbers_in_blocks(path, header, NUMBER_DTYPES)
    assert blocks is not None
    whole = pl.read_csv(path, schema_overrides=NUMBER_DTYPES)
    assert blocks.equals(whole) and blocks.schema == whole.schema


@pytest.mark.parametrize(
    "text",
    [
        'id,value\n1,0.5\n"2",0.25\n',  # quoted: a line break could hide inside quotes
        "id,value\n1,0.5\n2,\n",  # empty cell
        "id,value\n1,0.5\n2,abc\n",  # text
        "id,value\n1,0.5,9\n",  # ragged
        "id,value\n1," + "5" * 100 + "\n",  # a line longer than a block
    ],
)
def test_block_reader_leaves_unclean_files_to_the_whole_file_reader(tmp_path, monkeypatch, text):
    import graders.submission_checks as checks

    monkeypatch.setattr(checks, "BLOCK_BYTES", 64)
    path = tmp_path / "s.csv"
    path.write_text(text)
    assert checks._read_numbers_in_blocks(path, ["id", "value"], NUMBER_DTYPES) is None


def test_block_boundaries_do_not_change_grades(tmp_path, monkeypatch):
    import graders.submission_checks as checks

    rng = np.random.default_rng(0)
    ids = rng.permutation(np.arange(-500, 1500, 2))
    answers = pl.DataFrame(
        {"id": np.sort(ids), "value": rng.random(len(ids)), "board": rng.choice(["public", "private"], len(ids))}
    )
    path = tmp_path / "s.csv"
    pl.DataFrame({"id": ids, "value": rng.random(len(ids))}).write_csv(path)
    metric = get_metric("rmse")
    expected = grade(pl.read_csv(path), answers, NUMBER_META, "private", metric, [], None)
    for block_bytes in (64, 1000, 1 << 20):
        monkeypatch.setattr(checks, "BLOCK_BYTES", block_bytes)
        assert grade(path, answers, NUMBER_META, "private", metric, [], None) == expected
    assert expected["valid"]


@pytest.mark.parametrize(
    "ids",
    [
        [5, 3, 1, 6, 2, 4],  # a permutation
        [-(2**62), 2**62, 0, 7, -3, 11],  # too wide a range to pack: the arg-sort path
    ],
)
def test_id_order_lines_rows_up_with_the_answers(ids):
    from graders.submission_checks import _order_if_same_ids

    series = pl.Series("id", ids, dtype=pl.Int64)
    order = _order_if_same_ids(series, series.sort())
    assert order is not None and series.gather(order).to_list() == sorted(ids)


@pytest.mark.parametrize(
    "ids",
    [
        [1, 1, 3, 4, 5, 6],  # a duplicate, same size
        [1, 2, 3, 4, 5, 5],  # a duplicate at the top
        [1, 2, 3, 4, 6, 6],  # min and max right, one id missing
        [1, 2, 3, 4, 5, 7],  # an unknown id
    ],
)
def test_id_order_refuses_other_ids(ids):
    from graders.submission_checks import _order_if_same_ids

    answer_ids = pl.Series("id", [1, 2, 3, 4, 5, 6], dtype=pl.Int64)
    assert _order_if_same_ids(pl.Series("id", ids, dtype=pl.Int64), answer_ids) is None


def test_rows_are_named_in_id_order_whatever_the_file_order(tmp_path):
    report = run("id,value\n6,nan\n1,1\n3,inf\n4,1\n5,1\n2,nan\n", NUMBER_META, tmp_path)
    assert "NaN or infinite values at ids 2, 3, 6" in report["error"]


@pytest.mark.parametrize(
    ("text", "task_meta"),
    [
        ("id,label\n1,cat\n2,cat\n3,cat\n4,bird\n5,dog\n6,dog\n", LABEL_META),
        ("value,id\n3.0,3\n1.0,1\n2.0,2\n0.5,4\n4.0,5\n2.0,6\n", NUMBER_META),
        ("id,bird,cat,dog\n" + "\n".join(f"{i},0.2,0.5,0.3" for i in range(6, 0, -1)), PROBA_META),
        ("id,value\n1,1\n2,nan\n3,1\n4,1\n5,1\n6,1\n", NUMBER_META),
    ],
)
@pytest.mark.parametrize("stored_order", ["sorted", "shuffled"])
def test_answers_path_grades_like_answers_frame(tmp_path, text, task_meta, stored_order):
    answers_path = tmp_path / "answers.parquet"
    stored = ANSWERS if stored_order == "sorted" else ANSWERS.sample(fraction=1.0, shuffle=True, seed=3)
    stored.write_parquet(answers_path)
    submission = tmp_path / "submission.csv"
    submission.write_text(text)
    metric = get_metric(task_meta["metric"]["name"])
    for board in ("public", "private"):
        from_path = grade(submission, answers_path, task_meta, board, metric, [], None)
        assert from_path == grade(submission, ANSWERS, task_meta, board, metric, [], None)


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffid,label\n1,cat\n2,cat\n3,cat\n4,bird\n5,dog\n6,dog\n",  # a byte-order mark
        "\n\nid,label\n1,cat\n2,cat\n3,cat\n4,bird\n5,dog\n6,dog\n",  # blank lines before the header
        '"id","label"\r\n1,cat\r\n2,cat\r\n3,cat\r\n4,bird\r\n5,dog\r\n6,dog\r\n',  # quoted names, CRLF
        "label,id\ncat,1\ncat,2\ncat,3\nbird,4\ndog,5\ndog,6",  # swapped, no final newline
    ],
)
def test_the_header_check_accepts_what_the_csv_reader_accepts(tmp_path, text):
    path = tmp_path / "submission.csv"
    path.write_text(text, newline="", encoding="utf-8")
    report = grade(path, ANSWERS, LABEL_META, "private", get_metric("accuracy"), [], None)
    assert report["valid"], report["error"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,label,label\n1,cat,cat\n", "the header has 3 columns; repeated columns ['label']"),
        ("id\n1\n", "the header has 1 column; missing columns ['label']"),
        ("id," + ",".join(f"x{i}" for i in range(50_000)) + "\n", "unexpected columns ['x0', 'x1', 'x2', 'x3', 'x4'"),
    ],
)
def test_a_header_with_the_wrong_column_count_is_refused_before_parsing(tmp_path, text, message):
    report = run(text, LABEL_META, tmp_path)
    assert not report["valid"] and message in report["error"] and len(report["error"]) <= 2000


def test_a_submission_over_the_size_cap_is_refused(tmp_path):
    path = tmp_path / "submission.csv"
    path.write_text("id,label\n" + "1,cat\n" * 1000)
    metric = get_metric("accuracy")
    report = grade(path, ANSWERS, LABEL_META, "public", metric, [], None, max_bytes=1000)
    assert not report["valid"] and "is 6,009 bytes, more than the 1,000 this task allows" in report["error"]
