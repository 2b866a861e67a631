"""Attacks on grading with hostile submission files: huge headers, huge files, endless or greedy grading.

Whatever the file, `grade_isolated` (the env's grader), `dojo grade` and a task's grader.py answer within
seconds with an invalid result whose error names the problem in at most 2,000 characters; a grading
that needs too much memory or time is stopped in a child process and reported as such, and the caller
lives on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from task_fixtures import make_task

from graders import submission_checks
from graders.grading import grade_submission
from graders.isolation import grade_isolated
from graders.limits import GradeLimits, run_limited
from graders.metrics import get_metric
from graders.submission_checks import HEADER_BYTES, MAX_MESSAGE_CHARS, grade

REPO_ROOT = Path(__file__).resolve().parents[2]
DOJO = str(Path(sys.executable).parent / "dojo")
SLUG = "breast-cancer-diagnosis"  # a real offline spec, so that `dojo grade` knows the slug; its task is a fixture
QUICK_S = 15.0  # "within a few seconds", with room for a loaded test machine
CLI_S = 60.0  # `dojo` itself takes seconds to import (Dagster, the catalog's checks) before it grades


def _wide_header(path: Path, columns: int) -> Path:
    """A CSV whose header has `columns` columns, and one row of as many values."""
    names = ",".join(f"c{i}" for i in range(columns))
    path.write_text(names + "\n" + ",".join("1" for _ in range(columns)) + "\n")
    return path


@pytest.fixture
def task_dir(open_tmp: Path) -> Path:
    """A tiny binary task (160 test ids) under the slug of a real spec, in a dir every user can read."""
    return make_task(open_tmp / "home", "binary", slug=SLUG)


def _grade_with_dojo(task_dir: Path, submission: Path, *options: str) -> dict:
    home = task_dir.parents[2]
    environment = os.environ | {"DOJO_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    done = subprocess.run(
        [DOJO, "grade", SLUG, str(submission), "--json", *options],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _grade_with_grader_py(task_dir: Path, submission: Path, *options: str) -> dict:
    done = subprocess.run(
        [sys.executable, "grader.py", str(submission), *options],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=task_dir,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _grade_isolated(task_dir: Path, submission: Path, *options: str) -> dict:
    limits = GradeLimits(memory_mb=int(options[1])) if options else None
    return grade_isolated(task_dir, submission, "public", limits=limits).to_json()


ENTRY_POINTS = {"grade_isolated": _grade_isolated, "dojo grade": _grade_with_dojo, "grader.py": _grade_with_grader_py}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (3_000_000, "more than the 16,777,216 this task allows"),  # ~30 MB: over the size cap
        (1_500_000, f"header line longer than {HEADER_BYTES:,} bytes"),  # ~15 MB: a 13 MB header line
        (100_000, "the header has 100,000 columns; missing columns ['id', 'target']"),  # 690 kB: counted
    ],
)
def test_a_wide_header_is_refused_quickly_and_briefly(task_dir, open_tmp, entry, columns, expected):
    submission = _wide_header(open_tmp / "wide.csv", columns)
    started = time.perf_counter()
    report = ENTRY_POINTS[entry](task_dir, submission)
    elapsed = time.perf_counter() - started
    assert report["valid"] is False and report["score"] is None
    assert expected in report["error"] and len(report["error"]) <= MAX_MESSAGE_CHARS
    assert elapsed < (CLI_S if entry == "dojo grade" else QUICK_S), f"{entry} took {elapsed:.1f} s"


def test_the_header_is_counted_before_any_csv_parse(task_dir, open_tmp, monkeypatch):
    """Even in-process, a wide header never reaches polars' CSV reader (3.7 GB for 3M columns)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a CSV parse of a wide header")

    monkeypatch.setattr(submission_checks.pl, "read_csv", refuse)
    report = grade_submission(task_dir, _wide_header(open_tmp / "wide.csv", 120_000))
    assert not report.valid and "the header has 120,000 columns" in report.error
    assert "'c0', 'c1', 'c2', 'c3', 'c4' and 119,995 more" in report.error


def test_a_file_far_larger_than_the_answers_need_is_refused_unread(task_dir, open_tmp, monkeypatch):
    sample = task_dir / "public" / "sample_submission.csv"
    big = open_tmp / "big.csv"
    big.write_bytes(sample.read_bytes() + b"0,0.5\n" * ((17 << 20) // 6))
    monkeypatch.setattr(submission_checks, "read_header", None)  # not even the header is read
    report = grade_submission(task_dir, big)
    assert not report.valid and "more than the 16,777,216 this task allows" in report.error


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_grading_over_the_memory_limit_is_stopped_and_reported(task_dir, open_tmp, entry):
    # 1.2M quoted rows (15.7 MB, under the size cap) are read as text: hundreds of MiB.
    greedy = open_tmp / "greedy.csv"
    with greedy.open("w") as handle:
        handle.write("id,target\n")
        handle.writelines(f'{i},"0.5"\n' for i in range(1, 1_200_001))
    options = ("--memory-mb", "96")
    sample = task_dir / "public" / "sample_submission.csv"
    assert ENTRY_POINTS[entry](task_dir, sample, *options)["valid"]  # the limit leaves room for a real grading
    started = time.perf_counter()
    report = ENTRY_POINTS[entry](task_dir, greedy, *options)
    assert time.perf_counter() - started < (CLI_S if entry == "dojo grade" else QUICK_S)
    assert report["valid"] is False
    assert report["error"] == "grading stopped: the submission needs more than 96 MiB to read and score"


def test_a_grading_past_the_timeout_is_killed(task_dir):
    sample = task_dir / "public" / "sample_submission.csv"
    started = time.perf_counter()
    result = grade_isolated(task_dir, sample, "private", limits=GradeLimits(timeout_s=0.2))  # start-up takes more
    assert time.perf_counter() - started < 5
    assert not result.valid and result.error == "grading stopped: it took longer than 0.2 s"
    assert result.board == "private" and result.competition == SLUG


def test_a_child_that_loops_is_killed_with_what_it_started(open_tmp):
    pid_file = open_tmp / "grandchild.pid"
    looping = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen(['sleep', '600'])\nopen({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "while True:\n    pass\n"
    )
    started = time.perf_counter()
    report, stopped = run_limited([sys.executable, "-c", looping], GradeLimits(timeout_s=4))
    assert time.perf_counter() - started < 10
    assert report is None and stopped == "grading stopped: it took longer than 4 s"
    grandchild = int(pid_file.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in Path(f"/proc/{grandchild}/stat").read_text().split()[2]


def test_the_child_caps_its_own_cpu_time():
    """A child whose parent is gone still ends: apply_limits caps its CPU time."""
    burn = (
        "from graders.limits import GradeLimits, apply_limits\n"
        "apply_limits(GradeLimits(timeout_s=0.2))\n"
        "while True:\n    pass\n"
    )
    done = subprocess.run([sys.executable, "-c", burn], capture_output=True, timeout=60, cwd=REPO_ROOT)
    assert done.returncode in (-9, -24)  # SIGKILL or SIGXCPU, after ceil(0.2 * 4) + 1 = 2 s of CPU


def test_a_crashing_or_chattering_child_gives_a_short_error():
    report, stopped = run_limited(
        [sys.executable, "-c", "import sys; sys.stderr.write('x' * 10_000_000 + '\\nboom'); sys.exit(3)"],
        GradeLimits(timeout_s=30),
    )
    assert report is None and stopped == "grading stopped: the grader crashed (exit code 3): boom"
    report, stopped = run_limited([sys.executable, "-c", "print('[' * 5_000_000)"], GradeLimits(timeout_s=30))
    assert report is None and stopped.startswith("grading stopped: the grader crashed (exit code 0)")


ROWS = 1_000_000
LONG = "9" * 5 + "x" * 600  # a bad cell 600 characters long: five of them would make a 3,000-character message


def _meta(prediction: str, metric: str, classes: list[str] | None = None) -> dict:
    return {
        "slug": "hostile",
        "id_column": "id",
        "target_columns": ["target"],
        "prediction_columns": ["target"],
        "prediction": prediction,
        "metric": {"name": metric, "params": {}},
        "higher_is_better": get_metric(metric).higher_is_better,
        "classes": classes,
    }


def _answers(target: pl.Series) -> pl.DataFrame:
    board = np.where(np.arange(ROWS) % 2 == 0, "public", "private")
    return pl.DataFrame({"id": np.arange(1, ROWS + 1), "target": target, "board": board})


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("numbers", "column 'target': 1,000,000 values are not numbers (id=value: 1='99999xxxxx"),
        ("labels", "column 'target': labels '99999xxxxx"),
        ("ids", "column 'id': ids not in the test set '99999xxxxx"),
        ("duplicates", "column 'id': duplicated ids '99999xxxxx"),
    ],
)
def test_a_million_bad_rows_give_a_short_message_naming_the_first(tmp_path, case, expected):
    ids = pl.Series("id", np.arange(1, ROWS + 1)).cast(pl.String)
    cells = pl.Series("target", [LONG] * 5 + ["bad"] * (ROWS - 5))
    if case == "numbers":
        meta, answers, sub = _meta("number", "rmse"), _answers(pl.Series(np.zeros(ROWS))), pl.DataFrame([ids, cells])
    elif case == "labels":
        meta = _meta("label", "accuracy", ["cat", "dog"])
        answers = _answers(pl.Series(["cat"] * ROWS))
        sub = pl.DataFrame([ids, cells.str.replace("bad", "bad-label-") + ids])
    else:  # text ids, so that a long id is not refused for not being a number
        meta, answers = _meta("number", "rmse"), _answers(pl.Series(np.zeros(ROWS))).with_columns(ids)
        fake_ids = pl.Series("id", [f"{LONG}{i}" for i in range(ROWS)])
        if case == "duplicates":
            fake_ids = pl.Series("id", [LONG + str(i // 2) for i in range(ROWS)])
        sub = pl.DataFrame([fake_ids, pl.Series("target", ["0.5"] * ROWS)])
    path = tmp_path / "bad.csv"
    sub.write_csv(path)
    report = grade(path, answers, meta, "public", get_metric(meta["metric"]["name"]), [], None)
    assert report["valid"] is False
    assert report["error"].startswith(expected), report["error"][:300]
    assert len(report["error"]) <= MAX_MESSAGE_CHARS
    assert "more" in report["error"]  # the rest are counted, not listed


def test_a_huge_listed_value_is_cut_everywhere():
    assert len(submission_checks.capped("y" * 10**7)) == MAX_MESSAGE_CHARS
    assert submission_checks._listing(["z" * 10**6] * 10).endswith("zzz... and 5 more")
    assert len(submission_checks._listing(["z" * 10**6] * 10)) < 400


def _python_for_nobody(as_nobody) -> tuple[str, dict[str, str]]:
    """An interpreter uid 65534 can run with this project importable (root's own may sit under /root)."""
    site = next(path for path in sys.path if path.endswith("site-packages"))
    env = {"PYTHONPATH": os.pathsep.join([site, str(REPO_ROOT)])}
    for python in (sys.executable, "/usr/bin/python3"):
        # The probe also starts sys.executable, as grade_isolated does: here a venv whose interpreter lives
        # under /root starts, but its children cannot.
        probe = "import subprocess, sys, graders.isolation; subprocess.run([sys.executable, '-c', ''], check=True)"
        if as_nobody([python, "-c", probe], env=env, cwd="/").returncode == 0:
            return python, env
    pytest.skip("no interpreter that uid 65534 can run with the project's packages")


def test_grade_isolated_runs_as_an_unprivileged_user(task_dir, open_tmp, as_nobody):
    python, env = _python_for_nobody(as_nobody)
    wide = _wide_header(open_tmp / "wide.csv", 3_000_000)
    script = (
        "import json, sys\n"
        "from graders.isolation import grade_isolated\n"
        "from graders.limits import GradeLimits\n"
        "task, *files = sys.argv[1:]\n"
        "for f in files:\n"
        "    print(json.dumps(grade_isolated(task, f, 'public', limits=GradeLimits(memory_mb=512)).to_json()))\n"
    )
    sample = task_dir / "public" / "sample_submission.csv"
    started = time.perf_counter()
    done = as_nobody(
        [python, "-c", script, str(task_dir), str(sample), str(wide)],
        cwd=open_tmp,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.perf_counter() - started < 2 * QUICK_S
    valid, hostile = (json.loads(line) for line in done.stdout.splitlines())
    assert valid["valid"] is True and valid["score"] == 0.5
    assert hostile["valid"] is False and "more than the 16,777,216 this task allows" in hostile["error"]
