"""End to end: `dojo build SLUG` from the fake Kaggle to a graded task, for a tabular and an image-folder shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from fake_kaggle import FakeCompetition, FakeKaggle, image_folder_files, make_board, spaceship_titanic_files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOJO = Path(sys.executable).parent / "dojo"
TITANIC, PETS, LOCKED = "spaceship-titanic", "pixel-pets", "rules-first"

SPECS = {
    TITANIC: """\
        slug: spaceship-titanic
        title: Spaceship Titanic (fake)
        source: {kind: kaggle}
        task_type: binary
        id_column: PassengerId
        target_columns: [Transported]
        metric: {name: accuracy}
        higher_is_better: true
        split: {method: stratified, stratify_column: Transported, test_fraction: 0.25, seed: 0}
        description: Predict whether a passenger was transported to another dimension.
        tags: [tabular, kaggle]
        """,
    PETS: """\
        slug: pixel-pets
        title: Pixel pets (fake)
        source: {kind: kaggle}
        task_type: image_classification
        id_column: id
        target_columns: [label]
        metric: {name: accuracy}
        higher_is_better: true
        split: {method: stratified, stratify_column: label, test_fraction: 0.25, seed: 0}
        files:
          media: {column: image, raw_dir: train, public_dir: images}
        preparer: id_media:id_png
        description: Classify tiny pictures of pets.
        tags: [image, kaggle]
        """,
    LOCKED: """\
        slug: rules-first
        title: Rules first (fake)
        source: {kind: kaggle}
        task_type: binary
        id_column: PassengerId
        target_columns: [Transported]
        metric: {name: accuracy}
        description: A competition whose rules this account has not accepted.
        """,
}


@pytest.fixture
def fake() -> Iterator[FakeKaggle]:
    with FakeKaggle() as server:
        server.add(
            FakeCompetition(
                TITANIC,
                spaceship_titanic_files(),
                public_board=make_board([0.82, 0.81, 0.80, 0.79, 0.50]),
                private_board=make_board([0.81, 0.80, 0.80, 0.78, 0.51]),
            )
        )
        server.add(
            FakeCompetition(
                PETS,
                image_folder_files(),
                public_board=make_board([1.0, 0.9, 0.6]),
                private_board=make_board([0.95, 0.9, 0.55]),
            )
        )
        server.add(FakeCompetition(LOCKED, spaceship_titanic_files(rows=40, test_rows=10), rules_accepted=False))
        yield server


@pytest.fixture
def env(fake: FakeKaggle, tmp_path: Path) -> dict[str, str]:
    """A child environment: temp HOME, DOJO_HOME and competitions dir, token credentials, the fake as endpoint."""
    competitions = tmp_path / "competitions"
    competitions.mkdir()
    for slug, text in SPECS.items():
        (competitions / f"{slug}.yaml").write_text(textwrap.dedent(text))
    home = tmp_path / "home"
    home.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_") and "proxy" not in k.lower()}
    return (
        base
        | fake.client_env()
        | {
            "HOME": str(home),
            "DOJO_HOME": str(tmp_path / "dojo"),
            "DOJO_COMPETITIONS_DIR": str(competitions),
            "KAGGLE_API_TOKEN": fake.token,
        }
    )


def _dojo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DOJO), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _task_dir(env: dict[str, str], slug: str) -> Path:
    root = Path(env["DOJO_HOME"]) / "tasks" / slug
    return root / (root / "CURRENT").read_text().strip()


def _grade(task_dir: Path, submission: Path, board: str = "private") -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "grader.py", str(submission), "--board", board],
        cwd=task_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def _perfect_submission(task_dir: Path, out: Path) -> Path:
    """The private answers in the sample submission's column order: must score 1.0 on accuracy."""
    columns = pl.read_csv(task_dir / "public" / "sample_submission.csv", n_rows=1).columns
    pl.read_parquet(task_dir / "private" / "answers.parquet").select(columns).write_csv(out)
    return out


def test_build_both_shapes_from_the_fake_kaggle_then_grade(
    fake: FakeKaggle, env: dict[str, str], tmp_path: Path
) -> None:
    # One run for the three: a competition whose rules are not accepted fails alone, with the URL to fix it.
    done = _dojo(env, "build", TITANIC, PETS, LOCKED)
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, output[-3000:]
    assert f"https://www.kaggle.com/competitions/{LOCKED}/rules" in output
    assert fake.count("DownloadDataFiles") == 3 and fake.count("storage") == 2
    assert not (Path(env["DOJO_HOME"]) / "tasks" / LOCKED / "CURRENT").exists()

    titanic = _task_dir(env, TITANIC)
    header = (titanic / "public" / "train.csv").read_text().splitlines()[0]
    assert header.startswith("PassengerId,") and header.endswith(",Transported")
    assert "Transported" not in (titanic / "public" / "test.csv").read_text().splitlines()[0]
    pets = _task_dir(env, PETS)
    assert len(list((pets / "public" / "images").glob("*.png"))) == 60

    for task_dir in (titanic, pets):
        meta = json.loads((task_dir / "task.json").read_text())
        assert meta["rows"]["train"] + meta["rows"]["test"] == {TITANIC: 240, PETS: 60}[meta["slug"]]
        sample = _grade(task_dir, task_dir / "public" / "sample_submission.csv")
        assert sample["valid"] is True and 0.0 <= float(sample["score"]) <= 1.0  # type: ignore[arg-type]
        perfect = _grade(task_dir, _perfect_submission(task_dir, tmp_path / f"{meta['slug']}.csv"))
        assert (perfect["valid"], perfect["score"], perfect["position_score"]) == (True, 1.0, 1.0)

    for slug, private in ((TITANIC, [0.81, 0.80, 0.80, 0.78, 0.51]), (PETS, [0.95, 0.9, 0.55])):
        (snapshot,) = (Path(env["DOJO_HOME"]) / "leaderboards" / slug).glob("*.parquet")
        board = pl.read_parquet(snapshot)
        assert set(board["kind"]) == {"kaggle"} and set(board["board"]) == {"public", "private"}
        assert board.filter(pl.col("board") == "private").sort("rank")["score"].to_list() == private
        assert not any("team" in column and column != "team_count" for column in board.columns)
