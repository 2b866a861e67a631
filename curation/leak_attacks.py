"""Leak attacks on a built task: what an agent could do to read the private answers, tried for real.

The leak audit (curation.leak_audit) measures known symptoms; these checks play the attacker, so that
the next hole is caught whatever its cause:

- id_model: a model that sees nothing but each row's id (its value, rank, characters, hex value, residues,
  and its position under permutations seeded the way an unsalted recipe would seed them) is trained on
  public train and scored on the answers with the task's own metric. It fails when it beats both chance
  (a permutation test) and the dummy entry of the reference ladder.
- source_join: an offline task's public test joined back to the package table it was carved from; fails
  when rows match and carry the labels, unless the sandbox hides that provider's data.
- content_hash: each test id compared with digests of the row's cells (with the true answer where the
  target sits, and without it), for common hash functions, separators and null spellings.

Every check returns a LeakFinding and never raises: an attack that errors is a failed finding naming
the error, so a build records it instead of stopping.
"""

from __future__ import annotations

import hashlib
import re
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from curation.builtin_datasets import load_builtin
from curation.leak_audit import EXAMPLES, LeakFinding, _derivation
from curation.source_packages import is_masked, provider_of
from curation.spec import CompetitionSpec
from curation.task_frames import TaskFrames, column_kind
from graders.metrics import get_metric

ATTACK_CHECKS = {
    "id_model": "A model on features of the id alone does not beat the dummy entry by a significant margin "
    "(permutation test, one-sided p < 1e-6) with the task's metric.",
    "source_join": "Public test rows of an offline task do not match labeled rows of its source package, or the "
    "sandbox masks that provider's data.",
    "content_hash": "No test id is a digest (or digest prefix) of its row's cells, with or without the target.",
}

# The id model fits on at most this many train rows and is scored on at most this many test rows, drawn
# at a fixed seed: enough for a leak to stand out by many standard errors, a few seconds on any task.
ID_MODEL_TRAIN_ROWS = 20_000
ID_MODEL_TEST_ROWS = 10_000
PERMUTATIONS = 200
# The observed score must lie this many standard deviations above the permuted scores' mean (one-sided
# p < 1e-6 under a normal approximation) and above every permuted score. Strict on purpose: the check
# runs on every task of every build, and with salted ids fixed a false alarm would block a task for good.
# On the 24 offline tasks, their ids redrawn at random about 300 times, z never exceeded 3.4; the leaks
# it exists for score 9 and more (a slug-seeded permutation of a sorted table, ids in target order, rownames
# of a package sorted by parcel). A statistic whose permutation distribution is far from normal (median
# absolute error of a bimodal target) can hide a leak behind a wide spread: a known blind spot.
ID_MODEL_P = 1e-6
ID_MODEL_Z = float(stats.norm.isf(ID_MODEL_P))
SEED = 0
ID_CHAR_POSITIONS = 16  # characters read from each end of a text id
ID_RESIDUES = (2, 3, 4, 5, 7, 10, 16, 100)
MAX_TREE_CLASSES = 30  # above this many classes one decision tree replaces boosting (one tree per class)
PRIOR_BLEND = 0.05  # probabilities shrunk this much toward the train prior, as an attacker would hedge
# Seeded permutations of 1..N are recomputed for ids up to this N (ids above it cannot be such positions).
MAX_PERMUTED_IDS = 20_000_000
SMALL_SEEDS = (0, 1, 42, 123, 1234, 2024, 12345)

# A recipe applies to every row alike: a few dozen rows find it; wide rows with nulls cost ~30 ms each.
CONTENT_HASH_ROWS = 64
SEPARATORS = ("\x1f", ",", "|", "\t", "", " ", ";", ":", "_", "-")
NULL_SPELLINGS = ("\x00", "", "None", "null", "nan", "NA")
MIN_PREFIX = 8  # hex digits: shorter prefixes would match by chance


def _failed_with(name: str, error: Exception) -> LeakFinding:
    return LeakFinding(
        name,
        passed=False,
        blocking=True,
        value=None,
        threshold=None,
        details={"error": f"{type(error).__name__}: {error}"},
    )


def attack_task(
    frames: TaskFrames, spec: CompetitionSpec, *, hidden_providers: frozenset[str] | None = None
) -> list[LeakFinding]:
    """Every attack of ATTACK_CHECKS on one task, in that order; an attack that errors is a failed finding.

    `hidden_providers`: the providers whose data the sandbox hides (None: what curation.source_packages says).
    """
    attacks: dict[str, Callable[[], LeakFinding]] = {
        "id_model": lambda: id_model(frames, spec),
        "source_join": lambda: source_join(frames, spec, hidden_providers=hidden_providers),
        "content_hash": lambda: content_hash(frames),
    }
    findings = []
    for name, attack in attacks.items():
        try:
            findings.append(attack())
        except Exception as error:  # any failure of an attack is recorded as its outcome
            findings.append(_failed_with(name, error))
    return findings


# ---------------------------------------------------------------- id model


def _sample(n: int, cap: int, salt: int) -> np.ndarray:
    """Sorted row indices of a deterministic sample of at most `cap` of `n` rows."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng([SEED, salt]).choice(n, size=cap, replace=False))


def _seeds(key: str, split_seed: int) -> dict[str, int]:
    """Seeds an unsalted recipe would derive from the slug, and common literal seeds."""
    seeds: dict[str, int] = {}
    for algorithm in ("sha256", "md5", "sha1", "blake2b"):
        digest = hashlib.new(algorithm, key.encode()).digest()
        for order in ("big", "little"):
            seeds[f"{algorithm}[:8].{order}"] = int.from_bytes(digest[:8], order)  # type: ignore[arg-type]
    seeds["crc32"] = zlib.crc32(key.encode())
    for value in (*SMALL_SEEDS, split_seed):
        seeds[f"int{value}"] = value
    return seeds


def _permutation_positions(values: np.ndarray, rows: np.ndarray, key: str, split_seed: int) -> dict[str, np.ndarray]:
    """For integer ids that could be a shuffled 1..N (or 0..N-1): each sampled id's position under guessed seeds.

    A table sorted by class and given `permutation(N)[i]` as row i's id leaks the class to anyone who can
    redo the permutation: its inverse gives back each row's original position.
    """
    if values.size == 0 or not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return {}
    low, high = int(values.min()), int(values.max())
    offset = 1 if low >= 1 else 0
    size = high + 1 - offset
    if low < 0 or size > MAX_PERMUTED_IDS or size > 4 * values.size + 10:
        return {}
    sampled = values[rows].astype(np.int64) - offset
    positions = {}
    for name, seed in _seeds(key, split_seed).items():
        generators: dict[str, Callable[[], np.ndarray]] = {
            "default_rng": lambda seed=seed: np.random.default_rng(seed).permutation(size),
            "RandomState": lambda seed=seed: np.random.RandomState(seed % 2**32).permutation(size),
        }
        for generator, permute in generators.items():
            if generator == "RandomState" and not name.startswith(("int", "sha256[:8].big", "crc32")):
                continue
            inverse = np.empty(size, dtype=np.float64)
            inverse[permute()] = np.arange(size, dtype=np.float64)
            positions[f"position.{generator}.{name}"] = inverse[sampled]
    return positions


def _byte_columns(text: list[str], from_end: bool) -> np.ndarray:
    """(n, ID_CHAR_POSITIONS) byte values of each id's first (or last) characters; 0 past its end."""
    width = ID_CHAR_POSITIONS
    encoded = [s.encode("utf-8")[-width:] if from_end else s.encode("utf-8")[:width] for s in text]
    if from_end:
        encoded = [s.rjust(width, b"\x00") for s in encoded]
    block = np.array(encoded, dtype=f"S{width}")
    return block.view(np.uint8).reshape(len(text), width).astype(np.float64)


def id_features(ids: pl.Series, rows: np.ndarray, key: str, split_seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Features of the ids at `rows` computed from the id values alone (ranks over all of `ids`), and their names.

    Numeric value, rank, length, byte values at each position from both ends, the hex value of hex ids, the
    number made of an id's digits, residues of integer ids, and positions under guessed seeded permutations.
    """
    text_all = ids.cast(pl.String)
    numeric_all = (
        ids.cast(pl.Float64, strict=False) if ids.dtype.is_numeric() else text_all.cast(pl.Float64, strict=False)
    )
    ranked = ids if ids.dtype.is_numeric() else text_all
    rank = ranked.rank("average").cast(pl.Float64).to_numpy() / max(1, ids.len())
    text = text_all.gather(rows).fill_null("").to_list()
    values_all = numeric_all.to_numpy().astype(np.float64)
    values = values_all[rows]
    columns: dict[str, np.ndarray] = {"value": values, "rank": rank[rows]}
    columns["length"] = np.array([len(s) for s in text], dtype=np.float64)
    for from_end in (False, True):
        block = _byte_columns(text, from_end)
        for position in range(block.shape[1]):
            columns[f"byte.{'end' if from_end else 'start'}{position}"] = block[:, position]
    bare = [re.sub(r"-\d+$", "", s) for s in text]
    if bare and all(re.fullmatch(r"[0-9a-fA-F]+", s) for s in bare):
        columns["hex_value"] = np.array([float(int(s[:13], 16)) for s in bare])
    digits = [re.sub(r"\D", "", s)[:15] for s in text]
    columns["digits_value"] = np.array([float(d) if d else np.nan for d in digits])
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53):
        for modulus in ID_RESIDUES:
            columns[f"mod{modulus}"] = np.mod(values, modulus)
    if np.all(np.isfinite(values_all)):
        columns |= _permutation_positions(values_all, rows, key, split_seed)
    # A constant or all-missing column tells a model nothing, and an all-NaN one breaks boosting's binning.
    names = [name for name, column in columns.items() if np.unique(column[np.isfinite(column)]).size > 1]
    if not names:
        return np.zeros((rows.size, 1)), ["constant"]
    return np.column_stack([columns[name] for name in names]), names


def _metric(meta: dict) -> tuple[Any, dict[str, Any]]:
    """The task's metric (graders.metrics) and its parameters as the grader passes them."""
    metric = get_metric(meta["metric"]["name"])
    params = dict(metric.defaults) | dict(meta["metric"].get("params") or {})
    if meta.get("prediction", metric.prediction) == "class_probabilities":
        params["labels"] = list(meta["prediction_columns"])
    return metric, params


def _as_labels(values: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two label arrays of one kind: as they are when both are numbers, else both as text."""
    if values.dtype.kind in "biuf" and other.dtype.kind in "biuf":
        return values, other
    return values.astype(str), other.astype(str)


class _Scorer:
    """Scores predictions of the sampled test rows with the task's metric, oriented so that higher is better."""

    def __init__(self, meta: dict, truth: pl.DataFrame) -> None:
        self.metric, self.params = _metric(meta)
        self.kind = meta.get("prediction", self.metric.prediction)
        self.sign = 1.0 if self.metric.higher_is_better else -1.0
        targets = list(meta["target_columns"])
        self.truth = truth[targets[0]].to_numpy() if len(targets) == 1 else truth.select(targets).to_numpy()
        if self.kind == "class_probabilities":
            self.truth = self.truth.astype(str)

    def __call__(self, predicted: np.ndarray) -> float:
        truth = self.truth
        if self.kind == "label" and predicted.ndim == 1:
            truth, predicted = _as_labels(truth, predicted)
        return self.sign * float(self.metric.fn(truth, predicted, **self.params))


def _classifier(n_classes: int) -> Any:
    if n_classes > MAX_TREE_CLASSES:
        return DecisionTreeClassifier(max_depth=12, min_samples_leaf=10, random_state=SEED)
    return HistGradientBoostingClassifier(
        max_iter=40, learning_rate=0.2, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False, random_state=SEED
    )


def _regressor() -> Any:
    return HistGradientBoostingRegressor(
        max_iter=40, learning_rate=0.2, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False, random_state=SEED
    )


def _constant_columns(meta: dict, train: pl.DataFrame, kind: str, rows: int) -> dict[str, np.ndarray]:
    """The dummy-prior / dummy-mean prediction of every prediction column, for `rows` rows."""
    columns = {}
    for index, column in enumerate(meta["prediction_columns"]):
        if kind == "class_probabilities":
            target = train[meta["target_columns"][0]].cast(pl.String)
            share = float((target == column).mean() or 0.0)
            columns[column] = np.full(rows, share)
        else:
            values = train[meta["target_columns"][index]].drop_nulls()
            if kind in ("number", "probability"):
                columns[column] = np.full(rows, float(values.cast(pl.Float64).mean()))
            else:
                columns[column] = np.repeat(values.mode().sort()[0], rows)
    return columns


def _stack(columns: dict[str, np.ndarray], order: list[str]) -> np.ndarray:
    return columns[order[0]] if len(order) == 1 else np.column_stack([columns[c] for c in order])


def _dummy_predictions(meta: dict, train: pl.DataFrame, kind: str, rows: int) -> dict[str, np.ndarray]:
    """The reference ladder's dummy entries as predictions: prior (classes) or mean and median (numbers)."""
    order = list(meta["prediction_columns"])
    constant = _constant_columns(meta, train, kind, rows)
    dummies = {"dummy-prior" if kind != "number" else "dummy-mean": _stack(constant, order)}
    if kind == "number":
        median = {
            column: np.full(rows, float(train[meta["target_columns"][i]].drop_nulls().cast(pl.Float64).median()))
            for i, column in enumerate(order)
        }
        dummies["dummy-median"] = _stack(median, order)
    return dummies


def _model_predictions(
    meta: dict, kind: str, x_train: np.ndarray, y: np.ndarray, x_test: np.ndarray, constant: dict[str, np.ndarray]
) -> np.ndarray:
    """Predictions of the id model for the first target; other prediction columns keep the dummy's."""
    order = list(meta["prediction_columns"])
    columns = dict(constant)
    if kind == "number":
        model = _regressor().fit(x_train, y.astype(np.float64))
        columns[order[0]] = np.clip(model.predict(x_test), y.min(), y.max())
        return _stack(columns, order)
    classes = np.unique(y)
    model = _classifier(classes.size).fit(x_train, y)
    if kind == "label":
        columns[order[0]] = model.predict(x_test)
        return _stack(columns, order)
    proba = model.predict_proba(x_test)
    known = [str(c) for c in model.classes_]
    if kind == "class_probabilities":
        for column in order:
            predicted = proba[:, known.index(column)] if column in known else np.zeros(len(proba))
            columns[column] = (1 - PRIOR_BLEND) * predicted + PRIOR_BLEND * constant[column]
        return _stack(columns, order)
    positive = list(model.classes_).index(1) if 1 in list(model.classes_) else proba.shape[1] - 1
    columns[order[0]] = (1 - PRIOR_BLEND) * proba[:, positive] + PRIOR_BLEND * constant[order[0]]
    return _stack(columns, order)


def _skip(reason: str, **details: Any) -> LeakFinding:
    return LeakFinding(
        "id_model", passed=True, blocking=True, value=None, threshold=ID_MODEL_Z, details={"skipped": reason} | details
    )


def id_model(frames: TaskFrames, spec: CompetitionSpec) -> LeakFinding:
    """Train on id features alone, score the test ids with the task's metric; fail if that beats chance and dummy.

    Test: the model's predictions are permuted over the test rows PERMUTATIONS times at a fixed seed (what
    its score would be if ids said nothing about the answers). It fails when the observed score is above
    every permuted one, ID_MODEL_Z standard deviations above their mean, and better than the best dummy.
    """
    meta, id_column = frames.meta, frames.id_column
    metric, _ = _metric(meta)
    kind = meta.get("prediction", metric.prediction)
    if kind == "text":
        return _skip(f"metric {metric.name} scores text predictions: no model of an id predicts free text")
    target = frames.target_columns[0]
    if target not in frames.train.columns or id_column not in frames.train.columns:
        return _skip(f"public train lacks {id_column!r} or {target!r}")
    train = frames.train.filter(pl.col(target).is_not_null())
    answer_ids = frames.answers[id_column].cast(pl.String)
    test = frames.test.filter(pl.col(id_column).cast(pl.String).is_in(answer_ids.implode()))
    if train.height < 20 or test.height < 20 or train[target].n_unique() < 2:
        return _skip("fewer than 20 labeled train or test rows, or a constant target", train_rows=train.height)
    train_rows = _sample(train.height, ID_MODEL_TRAIN_ROWS, 1)
    test_rows = _sample(test.height, ID_MODEL_TEST_ROWS, 2)
    train_ids, test_ids = train[id_column], test[id_column]
    if train_ids.dtype != test_ids.dtype:
        train_ids, test_ids = train_ids.cast(pl.String), test_ids.cast(pl.String)
    ids = pl.concat([train_ids, test_ids])
    features, names = id_features(
        ids, np.concatenate([train_rows, train.height + test_rows]), spec.slug, spec.split.seed
    )
    x_train, x_test = features[: train_rows.size], features[train_rows.size :]
    sampled_test = test[id_column].gather(test_rows).cast(pl.String).to_frame("_id")
    truth = sampled_test.join(
        frames.answers.with_columns(pl.col(id_column).cast(pl.String).alias("_id")),
        on="_id",
        how="left",
        maintain_order="left",
    )
    scorer = _Scorer(meta, truth)
    sampled_train = train[train_rows]
    y = sampled_train[target].to_numpy()
    if kind in ("label", "class_probabilities") and y.dtype == object:
        y = y.astype(str)
    constant = _constant_columns(meta, sampled_train, kind, test_rows.size)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        predicted = _model_predictions(meta, kind, x_train, y, x_test, constant)
    observed = scorer(predicted)
    dummies = {}
    for name, prediction in _dummy_predictions(meta, sampled_train, kind, test_rows.size).items():
        try:
            dummies[name] = scorer(prediction)
        except ValueError as error:  # e.g. a correlation metric is undefined for a constant prediction
            dummies[name] = f"does not score: {error}"
    rng = np.random.default_rng(SEED)
    permuted = np.array([scorer(predicted[rng.permutation(test_rows.size)]) for _ in range(PERMUTATIONS)])
    spread = float(permuted.std())
    z = (observed - float(permuted.mean())) / spread if spread > 0 else 0.0
    numeric_dummies = [value for value in dummies.values() if isinstance(value, float)]
    best_dummy = max(numeric_dummies, default=None)
    beats_dummy = best_dummy is None or observed > best_dummy
    leaks = z >= ID_MODEL_Z and observed > float(permuted.max()) and beats_dummy
    sign = scorer.sign
    return LeakFinding(
        "id_model",
        passed=not leaks,
        blocking=True,
        value=round(z, 3),
        threshold=round(ID_MODEL_Z, 3),
        details={
            "metric": metric.name,
            "target": target,
            "model_score": float(f"{sign * observed:.6g}"),
            "dummy_scores": {k: float(f"{sign * v:.6g}") if isinstance(v, float) else v for k, v in dummies.items()},
            "beats_dummy": beats_dummy,
            "permuted_mean": float(f"{sign * float(permuted.mean()):.6g}"),
            "permuted_std": float(f"{spread:.6g}"),
            "permutations": PERMUTATIONS,
            "z": round(z, 3),
            "test": f"one-sided permutation test of the score, normal approximation, p < {ID_MODEL_P:g}; plus beating "
            "every permuted score and the best dummy",
            "train_sample_rows": int(train_rows.size),
            "test_sample_rows": int(test_rows.size),
            "features": len(names),
            "feature_names": names[:EXAMPLES]
            + ([f"... {len(names) - EXAMPLES} more"] if len(names) > EXAMPLES else []),
        },
    )


# ---------------------------------------------------------------- source join


MASKED_REASON = "the sandbox masks this provider's data, so agent code cannot load the table"


def _joinable(test: pl.DataFrame, package: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shared columns cast so equal values compare equal: numbers as floats, dates and their text as datetimes.

    A package's datetime reaches public CSV as text ("1993-06-26T00:00:00.000000"): compared as text the
    two never meet, yet agent code joins them after one parse.
    """
    test_casts, package_casts = [], []
    for column in columns:
        kinds = {column_kind(test.schema[column]), column_kind(package.schema[column])}
        if kinds == {"numeric"}:
            test_casts.append(pl.col(column).cast(pl.Float64))
            package_casts.append(pl.col(column).cast(pl.Float64))
        elif "temporal" in kinds and kinds <= {"temporal", "string"}:
            test_casts.append(_as_datetime(test, column))
            package_casts.append(_as_datetime(package, column))
        else:
            test_casts.append(pl.col(column).cast(pl.String))
            package_casts.append(pl.col(column).cast(pl.String))
    return test.select(test_casts), package.select(package_casts)


def _as_datetime(frame: pl.DataFrame, column: str) -> pl.Expr:
    if column_kind(frame.schema[column]) == "string":
        return pl.col(column).str.to_datetime(time_unit="us", strict=False)
    return pl.col(column).cast(pl.Datetime("us"))


def source_join(
    frames: TaskFrames, spec: CompetitionSpec, *, hidden_providers: frozenset[str] | None = None
) -> LeakFinding:
    """Join public test to the offline source's package table on their shared columns; fail if matches give labels.

    A test row matches when exactly one distinct package row has its values in every shared column. The
    matches carry labels when some package column not in public test equals, maps 1:1 to or is a monotone
    image of a target on the matched rows. A provider the sandbox masks passes: agent code cannot load it.
    """
    if spec.source.kind != "builtin":
        return LeakFinding(
            "source_join",
            passed=True,
            blocking=True,
            value=None,
            threshold=0,
            details={"skipped": f"source kind {spec.source.kind}, not builtin"},
        )
    dataset = spec.source.dataset
    provider = provider_of(dataset)
    masked = is_masked(provider, hidden_providers)
    details: dict[str, Any] = {"dataset": dataset, "provider": provider, "masked": masked}
    try:
        package = load_builtin(dataset)
    except Exception as error:  # a masked provider passes whether or not its package loads
        if masked:
            return LeakFinding(
                "source_join", True, True, None, 0, details | {"reason": MASKED_REASON, "load_error": str(error)}
            )
        raise
    id_column = frames.id_column
    shared = [c for c in frames.feature_columns if c in package.columns]
    extra = [c for c in package.columns if c not in frames.test.columns]
    details |= {"shared_columns": len(shared), "package_rows": package.height, "test_rows": frames.test.height}
    matched_rows, carried = 0, []
    if shared and extra and frames.test.height:
        test, source = _joinable(frames.test, package, shared)
        test = test.with_columns(frames.test[id_column].cast(pl.String).alias("_id"))
        source = source.with_columns(package.select(extra)).unique()
        counts = source.group_by(shared).len("_n")
        unique = source.join(counts.filter(pl.col("_n") == 1).drop("_n"), on=shared, how="semi", nulls_equal=True)
        matches = test.join(unique, on=shared, how="inner", nulls_equal=True)
        matched_rows = matches.height
        answers = frames.answers.with_columns(pl.col(id_column).cast(pl.String).alias("_id"))
        for target in frames.target_columns:
            if target not in answers.columns:
                continue
            for column in extra:
                pairs = matches.select("_id", pl.col(column).alias("_value")).join(
                    answers.select("_id", pl.col(target).alias("_target")), on="_id", how="inner"
                )
                how = _derivation(pairs.drop("_id").drop_nulls())
                if how:
                    carried.append({"package_column": column, "target": target, "how": how})
    share = matched_rows / frames.test.height if frames.test.height else 0.0
    details |= {"matched_rows": matched_rows, "matched_share": round(share, 6), "labels_carried": carried[:EXAMPLES]}
    leaks = matched_rows > 0 and bool(carried)
    if masked:
        found = "rows match and carry labels" if leaks else "no labeled row matches"
        details["reason"] = f"{MASKED_REASON} ({found})"
    return LeakFinding(
        "source_join", passed=not leaks or masked, blocking=True, value=round(share, 6), threshold=0, details=details
    )


# ---------------------------------------------------------------- content hash


def _digests(text: bytes) -> dict[str, str]:
    """Hex digests of `text` under the hash functions an unsalted id recipe would pick."""
    found = {
        "md5": hashlib.md5(text, usedforsecurity=False).hexdigest(),
        "sha1": hashlib.sha1(text, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(text).hexdigest(),
        "sha512": hashlib.sha512(text).hexdigest(),
        "blake2s": hashlib.blake2s(text).hexdigest(),
    }
    for size in (8, 16, 32, 64):
        found[f"blake2b-{size}"] = hashlib.blake2b(text, digest_size=size).hexdigest()
    return found


def _id_forms(value: Any) -> list[str]:
    """Hex strings an id could be a digest prefix as: its text (repeat suffix dropped), or an integer's hex."""
    text = re.sub(r"-\d+$", "", str(value)).lower()
    forms = [text] if re.fullmatch(r"[0-9a-f]+", text) and len(text) >= MIN_PREFIX else []
    if isinstance(value, int | np.integer) and value >= 16 ** (MIN_PREFIX - 1):
        forms.append(format(int(value), "x"))
        forms.append(format(int(value), "016x"))
    return forms


def _layouts(frames: TaskFrames) -> dict[str, list[str]]:
    """Column orders a recipe may hash: train's own (target in place), target last or first, features alone."""
    id_column, targets = frames.id_column, frames.target_columns
    features = frames.feature_columns
    in_place = [c for c in frames.train.columns if c != id_column and (c in features or c in targets)]
    return {
        "with_target_in_place": in_place,
        "with_target_last": [*features, *targets],
        "with_target_first": [*targets, *features],
        "features_only": features,
    }


def _row_match(forms: list[str], row: dict[str, str | None], layouts: dict[str, list[str]]) -> dict[str, str] | None:
    """The first recipe (layout, null spelling, separator, hash) whose digest starts with one of the id's forms."""
    has_null = any(value is None for value in row.values())
    for layout, columns in layouts.items():
        for null in NULL_SPELLINGS if has_null else NULL_SPELLINGS[:1]:
            text = [null if row[c] is None else str(row[c]) for c in columns]
            for separator in SEPARATORS:
                for algorithm, digest in _digests(separator.join(text).encode()).items():
                    if any(digest.startswith(form) for form in forms):
                        return {"layout": layout, "hash": algorithm, "separator": repr(separator), "null": repr(null)}
    return None


def content_hash(frames: TaskFrames) -> LeakFinding:
    """Recompute candidate content-hash ids of sampled test rows (true answers filled in) and compare with their ids.

    Fails on any sampled row whose id is a digest, or a digest's hex prefix of at least MIN_PREFIX digits.
    """
    id_column = frames.id_column
    answers = frames.answers.with_columns(pl.col(id_column).cast(pl.String).alias("_id"))
    rows = _sample(frames.test.height, CONTENT_HASH_ROWS, 3)
    test = frames.test[rows].with_columns(pl.col(id_column).cast(pl.String).alias("_id"))
    targets = [t for t in frames.target_columns if t in answers.columns]
    joined = test.join(answers.select("_id", *targets), on="_id", how="left", maintain_order="left")
    layouts = {name: [c for c in columns if c in joined.columns] for name, columns in _layouts(frames).items()}
    used = sorted({c for columns in layouts.values() for c in columns})
    cells = joined.select(pl.col(c).cast(pl.String) for c in used)
    raw_ids = frames.test[id_column].gather(rows).to_list()
    hashable, matches = 0, []
    for index, raw_id in enumerate(raw_ids):
        forms = _id_forms(raw_id)
        if not forms:
            continue
        hashable += 1
        match = _row_match(forms, cells.row(index, named=True), layouts)
        if match:
            matches.append({"id": str(raw_id)} | match)
    return LeakFinding(
        "content_hash",
        passed=not matches,
        blocking=True,
        value=len(matches),
        threshold=0,
        details={
            "sampled_rows": len(raw_ids),
            "hashable_ids": hashable,
            "recipes_per_row": len(layouts) * len(SEPARATORS) * len(_digests(b"")),
            "hashes": sorted(_digests(b"")),
            "separators": [repr(separator) for separator in SEPARATORS],
            "layouts": sorted(layouts),
            "min_prefix_hex_digits": MIN_PREFIX,
            "matches": matches[:EXAMPLES],
        },
    )
