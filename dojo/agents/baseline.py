"""A scripted agent without an LLM: reads the task through request_info, runs scikit-learn code, submits the best."""

from __future__ import annotations

import json
from typing import Any

# The solution every attempt runs, specialised by the task's facts (from request_info) and a model name.
# It is ordinary agent code: it runs in the sandbox and sees only the public files.
SOLUTION_TEMPLATE = r'''
import json
import os
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

TASK = json.loads(r"""__TASK__""")
MODEL = "__MODEL__"
# After a failed attempt the agent retries in safe mode: numbers and categories only, nothing parsed.
SAFE = __SAFE__
SEED = 0
MAX_TRAIN_ROWS = 200_000
FOREST_MAX_ROWS = 50_000  # fully grown trees on more rows outgrow the sandbox's memory limit
THREADS = int(os.environ.get("OMP_NUM_THREADS", "1"))
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
ID, TARGETS, PRED_COLUMNS = TASK["id_column"], TASK["target_columns"], TASK["prediction_columns"]
PREDICTION, METRIC = TASK["metric"]["prediction"], TASK["metric"]["name"]
CLASSIFICATION = PREDICTION in ("label", "probability", "class_probabilities") or (
    PREDICTION == "number" and TASK["task_type"] in ("binary", "multilabel")
)


def read(path):
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path, low_memory=False)


train = read(TASK["files"]["train"]).dropna(subset=TARGETS)
test = read(TASK["files"]["test"])
if len(train) > MAX_TRAIN_ROWS:
    train = train.sample(MAX_TRAIN_ROWS, random_state=SEED)


def parses_as_dates(values):
    return pd.to_datetime(values, errors="coerce", format="mixed", utc=True).notna().mean() > 0.9


def column_roles():
    """numeric | date | category | text | image for every feature column of test."""
    roles = {}
    for column in test.columns:
        if column == ID or column in TARGETS:
            continue
        series = train[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            roles[column] = "numeric"
            continue
        if SAFE:
            roles[column] = "category"
            continue
        values = series.dropna().astype(str)
        if values.empty:
            continue
        if values.str.lower().str.endswith(IMAGE_SUFFIXES).mean() > 0.9:
            roles[column] = "image"
        elif values.str.len().mean() < 40 and parses_as_dates(values.head(200)):
            roles[column] = "date"
        elif values.str.len().mean() > 25 and values.nunique() > 0.3 * len(values):
            roles[column] = "text"
        else:
            roles[column] = "category"
    return roles


ROLES = column_roles()


def date_parts(frame):
    parts = {}
    for column in [c for c, role in ROLES.items() if role == "date"]:
        # utc=True: naive and zone-aware stamps (e.g. "2012-02-11T00:47:00Z") compare alike.
        when = pd.to_datetime(frame[column], errors="coerce", format="mixed", utc=True)
        parts[f"{column}_days"] = (when - pd.Timestamp("1970-01-01", tz="UTC")).dt.days
        parts[f"{column}_year"] = when.dt.year
        parts[f"{column}_month"] = when.dt.month
        parts[f"{column}_day"] = when.dt.day
        parts[f"{column}_weekday"] = when.dt.dayofweek
        parts[f"{column}_dayofyear"] = when.dt.dayofyear
    return pd.DataFrame(parts, index=frame.index)


def image_pixels(frame):
    from PIL import Image

    blocks = []
    for column in [c for c, role in ROLES.items() if role == "image"]:
        rows = np.zeros((len(frame), 256), dtype=np.float32)
        for index, name in enumerate(frame[column].astype(str)):
            with Image.open(os.path.join(TASK["data_dir"], name)) as image:
                rows[index] = np.asarray(image.convert("L").resize((16, 16)), dtype=np.float32).ravel() / 255.0
        blocks.append(rows)
    return np.hstack(blocks) if blocks else None


def features(linear):
    """Model-ready train and test matrices: scaled or raw numbers, encoded categories, TF-IDF text, pixels."""
    from scipy import sparse
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    def table(frame):
        numeric = frame[[c for c, role in ROLES.items() if role == "numeric"]].astype(float)
        other = frame[[c for c, role in ROLES.items() if role in ("category", "text")]].astype(str)
        return pd.concat([numeric, date_parts(frame), other], axis=1)

    train_table, test_table = table(train), table(test)
    numeric = [c for c in train_table.columns if ROLES.get(c) not in ("category", "text")]
    categorical = [c for c, role in ROLES.items() if role == "category"]
    text = [c for c, role in ROLES.items() if role == "text"]
    parts = []
    if numeric:
        steps = [SimpleImputer(strategy="median", keep_empty_features=True)]
        parts.append(("numeric", make_pipeline(*steps, StandardScaler()) if linear else steps[0], numeric))
    if categorical:
        if linear:
            encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, max_categories=50)
        else:
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        parts.append(("categorical", encoder, categorical))
    for column in text:
        vocabulary = 20000 if linear else 2000
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=vocabulary, sublinear_tf=True)
        parts.append((f"text_{column}", vectorizer, column))
    blocks_train, blocks_test = [], []
    if parts:
        transformer = ColumnTransformer(parts, sparse_threshold=0.3 if linear else 0.0)
        blocks_train.append(transformer.fit_transform(train_table))
        blocks_test.append(transformer.transform(test_table))
    pixels_train, pixels_test = image_pixels(train), image_pixels(test)
    if pixels_train is not None:
        blocks_train.append(pixels_train)
        blocks_test.append(pixels_test)
    if not blocks_train:
        raise SystemExit("no usable feature columns")
    if any(sparse.issparse(b) for b in blocks_train):
        return sparse.hstack(blocks_train).tocsr(), sparse.hstack(blocks_test).tocsr()
    return np.hstack([np.asarray(b) for b in blocks_train]), np.hstack([np.asarray(b) for b in blocks_test])


def make_model(name):
    from sklearn import ensemble, linear_model

    balanced = "balanced" if METRIC in ("balanced_accuracy", "f1_macro") else None
    if CLASSIFICATION:
        return {
            "linear": lambda: linear_model.LogisticRegression(C=1.0, max_iter=3000, class_weight=balanced),
            "linear_strong": lambda: linear_model.LogisticRegression(C=8.0, max_iter=3000, class_weight=balanced),
            "gbm": lambda: ensemble.HistGradientBoostingClassifier(
                max_iter=300, learning_rate=0.08, early_stopping=True, random_state=SEED, class_weight=balanced
            ),
            "forest": lambda: ensemble.ExtraTreesClassifier(
                n_estimators=300, min_samples_leaf=2, n_jobs=THREADS, random_state=SEED, class_weight=balanced
            ),
        }[name]()
    return {
        "linear": lambda: linear_model.Ridge(alpha=1.0),
        "linear_strong": lambda: linear_model.Ridge(alpha=0.1),
        "gbm": lambda: ensemble.HistGradientBoostingRegressor(
            max_iter=300, learning_rate=0.08, early_stopping=True, random_state=SEED
        ),
        "forest": lambda: ensemble.RandomForestRegressor(
            n_estimators=200, min_samples_leaf=2, max_features=0.5, n_jobs=THREADS, random_state=SEED
        ),
    }[name]()


def dense_if_needed(name, matrix):
    from scipy import sparse

    return matrix.toarray() if name in ("gbm", "forest") and sparse.issparse(matrix) else matrix


def positive_index(classes):
    listed = list(classes)
    for positive in (1, True, "1", "True", "true", "yes", "Yes"):
        if positive in listed:
            return listed.index(positive)
    return len(listed) - 1


def label_threshold(model_name, X, y):
    """For binary label metrics that reward recall (F1, MCC, balanced accuracy): the best cut on out-of-fold
    probabilities."""
    from sklearn import metrics
    from sklearn.model_selection import cross_val_predict

    scorer = {
        "f1": metrics.f1_score,
        "mcc": metrics.matthews_corrcoef,
        "balanced_accuracy": metrics.balanced_accuracy_score,
    }.get(METRIC)
    classes = np.unique(y)
    if scorer is None or len(classes) != 2 or len(y) < 50:
        return None
    proba = cross_val_predict(make_model(model_name), X, y, cv=3, method="predict_proba")
    positive = positive_index(classes)
    truth = (y == classes[positive]).astype(int)
    cuts = np.linspace(0.05, 0.95, 37)
    scores = [scorer(truth, (proba[:, positive] >= cut).astype(int)) for cut in cuts]
    return float(cuts[int(np.argmax(scores))])


def fit_predict(model_name, X, X_test, y):
    """Predictions for one target column, in the submission's form."""
    if model_name == "forest" and X.shape[0] > FOREST_MAX_ROWS:
        keep = np.sort(np.random.default_rng(SEED).choice(X.shape[0], FOREST_MAX_ROWS, replace=False))
        X, y = X[keep], y.iloc[keep]
    model = make_model(model_name)
    if CLASSIFICATION:
        model.fit(X, y)
        if PREDICTION == "class_probabilities":
            proba = model.predict_proba(X_test)
            known = [str(c) for c in model.classes_]
            missing = np.zeros(len(proba))
            columns = np.column_stack([proba[:, known.index(c)] if c in known else missing for c in PRED_COLUMNS])
            columns = np.clip(columns, 1e-6, 1.0)
            return columns / columns.sum(axis=1, keepdims=True)
        if PREDICTION in ("probability", "number"):
            return model.predict_proba(X_test)[:, positive_index(model.classes_)]
        threshold = label_threshold(model_name, X, y)
        if threshold is not None:
            positive = positive_index(model.classes_)
            chosen = model.predict_proba(X_test)[:, positive] >= threshold
            return np.where(chosen, model.classes_[positive], model.classes_[1 - positive])
        return model.predict(X_test)
    values = y.astype(float).to_numpy()
    log_target = METRIC in ("rmsle", "msle") and (values >= 0).all()
    model.fit(X, np.log1p(values) if log_target else values)
    predicted = model.predict(X_test)
    predicted = np.expm1(predicted) if log_target else predicted
    return np.clip(predicted, 0, None) if (values >= 0).all() else predicted


X, X_test = features(linear=MODEL.startswith("linear"))
X, X_test = dense_if_needed(MODEL, X), dense_if_needed(MODEL, X_test)
submission = pd.DataFrame({ID: test[ID]})
if PREDICTION == "class_probabilities":
    predicted = fit_predict(MODEL, X, X_test, train[TARGETS[0]])
    for index, column in enumerate(PRED_COLUMNS):
        submission[column] = predicted[:, index]
else:
    for target, column in zip(TARGETS, PRED_COLUMNS):
        submission[column] = fit_predict(MODEL, X, X_test, train[target])
submission.to_csv("submission.csv", index=False)
print(f"model={MODEL} train_rows={len(train)} features={X.shape[1]} roles={sorted(set(ROLES.values()))}")
'''

FALLBACK_CODE = """\
import os
import shutil

# Every model attempt failed: the sample submission is at least a valid entry.
shutil.copyfile(os.path.join(os.environ["DATA_DIR"], "sample_submission.csv"), "submission.csv")
print("copied the sample submission")
"""


def model_plan(facts: dict[str, Any]) -> list[str]:
    """Models to try, cheapest first: each later one is expected to do better on this kind of task."""
    if facts["metric"]["prediction"] == "text":
        return []  # text-valued predictions (rankings, masks) are out of scope for scikit-learn baselines
    if facts["task_type"] == "text_classification":
        return ["linear", "linear_strong"]
    if facts["task_type"] == "image_classification":
        return ["linear", "forest"]
    return ["linear", "gbm", "forest"]


def solution_code(facts: dict[str, Any], model: str, *, safe: bool = False) -> str:
    """The solution script for one attempt; `safe` keeps only numeric and categorical features."""
    script = SOLUTION_TEMPLATE.replace("__TASK__", json.dumps(facts)).replace("__MODEL__", model)
    return script.replace("__SAFE__", repr(safe))


class BaselineAgent:
    """No LLM: request_info, then one execute_code per planned model, then submit (the env picks the best).

    A run that fails (an exception, a limit, an invalid submission) switches the remaining attempts to safe
    mode (numbers and categories only). If every attempt fails, the sample submission is executed as a last
    resort so the episode still has a valid entry. One step is always left for submit.
    """

    name = "baseline"

    def __init__(self) -> None:
        self.reset({}, {})

    def reset(self, observation: dict[str, Any], info: dict[str, Any]) -> None:
        self._plan: list[str] = []
        self._facts: dict[str, Any] | None = None
        self._valid_seen = False
        self._safe = False
        self._fallback_done = False

    def step_meta(self) -> dict[str, Any] | None:
        return None

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
        if observation.get("score") is not None:
            self._valid_seen = True
        if observation.get("action") == "execute_code" and observation.get("error_type"):
            self._safe = True
        if self._facts is None:
            if "task_info" in info:
                self._facts = info["task_info"]
                self._plan = model_plan(self._facts)
            else:
                return {"action": "request_info", "params": {"info_type": "all"}}
        if observation["steps_left"] > 1 and self._plan:
            code = solution_code(self._facts, self._plan.pop(0), safe=self._safe)
            return {"action": "execute_code", "params": {"code": code}}
        if not self._valid_seen and not self._fallback_done and observation["steps_left"] > 1:
            self._fallback_done = True
            return {"action": "execute_code", "params": {"code": FALLBACK_CODE}}
        return {"action": "submit", "params": {}}
