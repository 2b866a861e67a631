"""Leaderboard snapshots: the reference ladder of scikit-learn entries, storage and lookup."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multioutput import MultiOutputRegressor
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from graders.grading import load_task
from graders.metrics import get_metric
from graders.submission_checks import SubmissionError, read_answers, score_submission

LEADERBOARD_COLUMNS = ["rank", "score", "board", "kind", "entry", "snapshot", "team_count"]
MAX_FIT_ROWS = 20_000  # the ladder is a yardstick, not a contest: cap fitting cost on large tasks
TEXT_MIN_MEAN_LENGTH = 25  # string columns longer than this on average are treated as free text
IMAGE_SIDE = 16

Factory = Callable[[], object]


def classifier_ladder() -> dict[str, Factory]:
    """At least ten classifiers from trivial to strong, each deterministic."""
    return {
        "dummy-prior": lambda: DummyClassifier(strategy="prior"),
        "dummy-stratified": lambda: DummyClassifier(strategy="stratified", random_state=0),
        "gaussian-nb": lambda: GaussianNB(),
        "logistic-c0.01": lambda: LogisticRegression(C=0.01, max_iter=500),
        "logistic-c1": lambda: LogisticRegression(C=1.0, max_iter=1000),
        "knn-5": lambda: KNeighborsClassifier(n_neighbors=5),
        "knn-25": lambda: KNeighborsClassifier(n_neighbors=25),
        "tree-depth3": lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
        "tree-full": lambda: DecisionTreeClassifier(min_samples_leaf=2, random_state=0),
        "random-forest-100": lambda: RandomForestClassifier(n_estimators=100, min_samples_leaf=2, random_state=0),
        "extra-trees-100": lambda: ExtraTreesClassifier(n_estimators=100, min_samples_leaf=2, random_state=0),
        # Boosting is capped in rounds: multiclass grows one tree per class per round.
        "hist-gb-lr0.1": lambda: HistGradientBoostingClassifier(learning_rate=0.1, max_iter=60, random_state=0),
        "hist-gb-lr0.2-depth3": lambda: HistGradientBoostingClassifier(
            learning_rate=0.2, max_iter=40, max_depth=3, random_state=0
        ),
    }


def regressor_ladder(multi_output: bool) -> dict[str, Factory]:
    """At least ten regressors from trivial to strong; boosting is wrapped per target when needed."""

    def boosting(**params) -> object:
        model = HistGradientBoostingRegressor(random_state=0, **params)
        return MultiOutputRegressor(model) if multi_output else model

    return {
        "dummy-mean": lambda: DummyRegressor(strategy="mean"),
        "dummy-median": lambda: DummyRegressor(strategy="median"),
        "ridge-1": lambda: Ridge(alpha=1.0),
        "ridge-100": lambda: Ridge(alpha=100.0),
        "knn-5": lambda: KNeighborsRegressor(n_neighbors=5),
        "knn-25": lambda: KNeighborsRegressor(n_neighbors=25),
        "tree-depth3": lambda: DecisionTreeRegressor(max_depth=3, random_state=0),
        "tree-full": lambda: DecisionTreeRegressor(min_samples_leaf=2, random_state=0),
        "random-forest-100": lambda: RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=0),
        "extra-trees-100": lambda: ExtraTreesRegressor(n_estimators=100, min_samples_leaf=2, random_state=0),
        "hist-gb-lr0.1": lambda: boosting(learning_rate=0.1, max_iter=100),
        "hist-gb-lr0.2-depth3": lambda: boosting(learning_rate=0.2, max_iter=60, max_depth=3),
    }


def _read_public(task_dir: Path, meta: dict, role: str) -> pl.DataFrame:
    entry = next(f for f in meta["files"] if f["role"] == role)
    path = task_dir / entry["path"]
    return pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema_length=None)


def _image_pixels(task_dir: Path, paths: list[str]) -> np.ndarray:
    from PIL import Image

    rows = []
    for rel in paths:
        with Image.open(task_dir / "public" / rel) as image:
            small = image.convert("L").resize((IMAGE_SIDE, IMAGE_SIDE))
            rows.append(np.asarray(small, dtype=np.float32).ravel() / 255.0)
    return np.vstack(rows)


@dataclass(frozen=True)
class FeatureFrames:
    """Model-ready train and test matrices."""

    train: np.ndarray
    test: np.ndarray


def build_features(task_dir: Path, meta: dict, train: pl.DataFrame, test: pl.DataFrame) -> FeatureFrames:
    """Numeric columns imputed, short strings one-hot, long strings TF-IDF, images as small pixel grids."""
    skip = {meta["id_column"], *meta["target_columns"]}
    media_entry = next((f for f in meta["files"] if f["role"] == "media"), None)
    media_column = None
    if media_entry:
        prefix = media_entry["path"].removeprefix("public/") + "/"
        media_column = next(
            (c for c in test.columns if test.schema[c] == pl.String and str(test[c][0]).startswith(prefix)), None
        )
    numeric, categorical, text = [], [], []
    for column in test.columns:
        if column in skip or column == media_column:
            continue
        dtype = test.schema[column]
        if dtype.is_numeric() or dtype == pl.Boolean or dtype.is_temporal():
            numeric.append(column)
        else:
            lengths = train[column].cast(pl.String).str.len_chars().mean() or 0
            (text if lengths > TEXT_MIN_MEAN_LENGTH else categorical).append(column)

    def to_pandas(frame: pl.DataFrame):
        converted = frame.select(
            *[
                pl.col(c).cast(pl.Float64)
                if not frame.schema[c].is_temporal()
                else pl.col(c).dt.epoch("s").cast(pl.Float64)
                for c in numeric
            ],
            *[pl.col(c).cast(pl.String).fill_null("") for c in categorical + text],
        )
        return converted.to_pandas()

    transformers = []
    if numeric:
        transformers.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=5, max_categories=30, sparse_output=False
        )
        transformers.append(("cat", encoder, categorical))
    for column in text:
        transformers.append((f"text-{column}", TfidfVectorizer(max_features=300, sublinear_tf=True), column))
    parts_train, parts_test = [], []
    if transformers:
        pipeline = ColumnTransformer(transformers, sparse_threshold=0.0)
        parts_train.append(np.asarray(pipeline.fit_transform(to_pandas(train)), dtype=np.float64))
        parts_test.append(np.asarray(pipeline.transform(to_pandas(test)), dtype=np.float64))
    if media_column:
        parts_train.append(_image_pixels(task_dir, train[media_column].to_list()))
        parts_test.append(_image_pixels(task_dir, test[media_column].to_list()))
    if not parts_train:
        raise ValueError(f"{meta['slug']}: no usable feature columns for the reference ladder")
    return FeatureFrames(np.hstack(parts_train), np.hstack(parts_test))


def _predict(model: object, features: FeatureFrames, y: np.ndarray, meta: dict) -> dict[str, np.ndarray]:
    kind = meta["prediction"]
    model.fit(features.train, y)  # type: ignore[attr-defined]
    columns = meta["prediction_columns"]
    if kind == "class_probabilities":
        proba = model.predict_proba(features.test)  # type: ignore[attr-defined]
        known = [str(c) for c in model.classes_]  # type: ignore[attr-defined]
        return {c: proba[:, known.index(c)] if c in known else np.zeros(len(proba)) for c in columns}
    if kind == "probability":
        proba = model.predict_proba(features.test)  # type: ignore[attr-defined]
        positive = list(model.classes_).index(1) if 1 in list(model.classes_) else proba.shape[1] - 1  # type: ignore[attr-defined]
        return {columns[0]: proba[:, positive]}
    prediction = np.asarray(model.predict(features.test))  # type: ignore[attr-defined]
    if kind == "number":
        # Within the training targets' range, as a sane baseline would: an extrapolating linear rung must not
        # step outside a metric's domain (e.g. below -1 under RMSLE) and fail to score at all.
        prediction = np.clip(prediction, y.min(axis=0), y.max(axis=0))
    if prediction.ndim == 1:
        return {columns[0]: prediction}
    return {c: prediction[:, i] for i, c in enumerate(columns)}


def reference_ladder(task_dir: Path, snapshot: str) -> pl.DataFrame:
    """Fit every ladder entry on public train, score it on both boards; the leaderboard frame."""
    task_dir = Path(task_dir)
    meta = load_task(task_dir)
    metric = get_metric(meta["metric"]["name"])
    if meta["prediction"] == "text":
        raise ValueError(f"{meta['slug']}: no reference ladder for text-valued predictions ({metric.name})")
    train, test = _read_public(task_dir, meta, "train"), _read_public(task_dir, meta, "test")
    # CSV type inference runs per file, so a column can come back as numbers in one and text in the other
    # (an id like "136A" only in train): such columns are text in both.
    mixed = [c for c in test.columns if c in train.columns and train.schema[c] != test.schema[c]]
    train = train.with_columns(pl.col(mixed).cast(pl.String))
    test = test.with_columns(pl.col(mixed).cast(pl.String))
    if train.height > MAX_FIT_ROWS:
        train = train.sample(MAX_FIT_ROWS, seed=0)
    features = build_features(task_dir, meta, train, test)
    targets = meta["target_columns"]
    y = train[targets[0]].to_numpy() if len(targets) == 1 else train.select(targets).to_numpy()
    if meta["prediction"] in ("label", "class_probabilities") and y.dtype == object:
        y = y.astype(str)
    classification = meta["prediction"] in ("label", "probability", "class_probabilities")
    ladder = classifier_ladder() if classification else regressor_ladder(len(targets) > 1)
    answers = read_answers(task_dir / "private" / "answers.parquet")
    rows = []
    for entry, factory in ladder.items():
        # One thread: OpenMP pools oversubscribe a busy machine badly (minutes instead of seconds), and
        # builds already run one competition per process.
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            predicted = _predict(factory(), features, y, meta)
        submission = pl.DataFrame({meta["id_column"]: test[meta["id_column"]]} | predicted)
        for board in ("public", "private"):
            try:
                value = score_submission(submission, answers, meta, board, metric)
            except SubmissionError as exc:
                raise ValueError(f"{meta['slug']}: reference entry {entry} did not score: {exc}") from exc
            rows.append({"entry": entry, "board": board, "score": value})
    return rank_board(pl.DataFrame(rows), meta["higher_is_better"], kind="reference", snapshot=snapshot)


def rank_board(frame: pl.DataFrame, higher_is_better: bool, *, kind: str, snapshot: str) -> pl.DataFrame:
    """Add rank (1 = best, ties share the best rank), kind, snapshot and team count per board."""
    ranked = frame.with_columns(
        pl.col("score").rank("min", descending=higher_is_better).over("board").cast(pl.Int64).alias("rank"),
        pl.len().over("board").cast(pl.Int64).alias("team_count"),
        pl.lit(kind).alias("kind"),
        pl.lit(snapshot).alias("snapshot"),
    )
    if "entry" not in ranked.columns:
        ranked = ranked.with_columns(pl.lit(None, dtype=pl.String).alias("entry"))
    return ranked.select(LEADERBOARD_COLUMNS).sort("board", "rank", "entry")


def write_snapshot(board: pl.DataFrame, leaderboard_dir: Path, snapshot: str) -> Path:
    """Write leaderboards/<slug>/<snapshot>.parquet atomically."""
    leaderboard_dir.mkdir(parents=True, exist_ok=True)
    path = leaderboard_dir / f"{snapshot}.parquet"
    tmp = leaderboard_dir / f".tmp-{snapshot}.parquet"
    board.write_parquet(tmp, statistics=False)
    tmp.replace(path)
    return path


def load_leaderboard(leaderboard_dir: Path) -> pl.DataFrame | None:
    """The newest snapshot of a competition's leaderboard, or None."""
    snapshots = sorted(leaderboard_dir.glob("*.parquet")) if leaderboard_dir.is_dir() else []
    return pl.read_parquet(snapshots[-1]) if snapshots else None


def dummy_score(board: pl.DataFrame, board_name: str = "private") -> float | None:
    """Best score among the ladder's dummy entries: the floor an agent must beat."""
    rows = board.filter((pl.col("board") == board_name) & pl.col("entry").str.starts_with("dummy-"))
    return float(rows.sort("rank")["score"][0]) if rows.height else None
