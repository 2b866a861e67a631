"""Raw data: fetch a competition's files into raw/<slug>/ and derive its labeled table, cached and checksummed."""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curation.layout import atomic_write_bytes, temp_path_beside
from curation.secret import keyed_seed, salt_sha256
from curation.spec import CompetitionSpec
from curation.splits import canonical_sort_columns, key_hash

LABELED_FILE = "labeled.parquet"
MANIFEST_FILE = "manifest.json"
# Bump when fetching or preparing changes what lands in raw/: it invalidates every raw cache.
RAW_CODE_VERSION = "raw-3"

Downloader = Callable[[str, Path], object]  # (kaggle competition slug, raw_dir) -> files extracted in raw_dir/files


class SourceError(Exception):
    """Raw data could not be fetched or does not match its spec; the message says what and where."""


@dataclass(frozen=True)
class RawResult:
    """What the raw stage produced for one competition."""

    slug: str
    raw_dir: Path
    source_sha256: str  # sha256 over every raw file's path and sha256: the data's identity
    files: dict[str, dict[str, int | str]]  # relative path -> {"sha256", "bytes"}
    labeled_rows: int
    cache_hit: bool


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _source_key(spec: CompetitionSpec, salt: bytes) -> str:
    """Identity of everything that shapes raw/: source, preparer, files, dropped columns, salt, code version."""
    relevant = {
        "secret_sha256": salt_sha256(salt),  # preparers mint ids with the salt
        "source": spec.source.model_dump(mode="json"),
        "preparer": spec.preparer,
        "files": spec.files.model_dump(mode="json"),
        "drop_columns": spec.drop_columns,
        "id_column": spec.id_column,
        "code": RAW_CODE_VERSION,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def _inventory(raw_dir: Path) -> dict[str, dict[str, int | str]]:
    """Every file under raw_dir except the manifest and download caches, with sha256 and size."""
    files: dict[str, dict[str, int | str]] = {}
    for path in sorted(raw_dir.rglob("*")):
        rel = path.relative_to(raw_dir).as_posix()
        if not path.is_file() or rel == MANIFEST_FILE or rel.startswith("download/") or "/.tmp-" in f"/{rel}":
            continue
        files[rel] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    return files


def _digest_of(files: dict[str, dict[str, int | str]]) -> str:
    lines = "".join(f"{rel}\t{meta['sha256']}\n" for rel, meta in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _cached(raw_dir: Path, key: str) -> dict | None:
    """The manifest when raw/ holds exactly what `key` produced, with every file present at its size."""
    path = raw_dir / MANIFEST_FILE
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("source_key") != key:
        return None
    for rel, meta in manifest["files"].items():
        file = raw_dir / rel
        if not file.is_file() or file.stat().st_size != meta["bytes"]:
            return None
    return manifest


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """Write a table as CSV or Parquet by extension, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_beside(path)
    if path.suffix == ".parquet":
        frame.write_parquet(tmp, compression="zstd", statistics=False)
    elif path.suffix == ".csv":
        frame.write_csv(tmp)
    else:
        raise SourceError(f"{path}: unsupported table format {path.suffix!r} (csv or parquet)")
    tmp.replace(path)


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV or Parquet table by extension, with a clear error when missing or unreadable."""
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        if path.suffix in (".csv", ".tsv"):
            return pl.read_csv(path, separator="\t" if path.suffix == ".tsv" else ",", infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SourceError(f"{path}: cannot read table: {exc}") from exc
    raise SourceError(f"{path}: unsupported table format {path.suffix!r}")


def _fetch_files(
    spec: CompetitionSpec, files_dir: Path, spec_dir: Path | None, download: Downloader | None, salt: bytes
) -> None:
    """Fill files_dir with the source's files."""
    source = spec.source
    files_dir.mkdir(parents=True, exist_ok=True)
    if source.kind == "builtin":
        from curation.builtin_datasets import load_builtin

        write_table(load_builtin(source.dataset), files_dir / "data.parquet")
    elif source.kind == "synthetic":
        from curation.synthetic import generate

        # The YAML's seed is public: drawn from it alone, the data (labels included) could be generated again.
        seed = keyed_seed(salt, "synthetic", f"{spec.slug}\x1f{source.seed}")
        write_table(generate(source.generator, source.rows, seed, source.params), files_dir / "data.parquet")
    elif source.kind == "kaggle":
        if download is None:
            raise SourceError(f"{spec.slug}: a Kaggle source needs the Kaggle resource (credentials) to download")
        download(source.competition or spec.slug, files_dir.parent)
    elif source.kind == "local":
        origin = Path(source.path)
        if not origin.is_absolute() and spec_dir is not None:
            origin = spec_dir / origin
        if origin.is_dir():
            shutil.copytree(origin, files_dir, dirs_exist_ok=True)
        elif origin.is_file():
            shutil.copy2(origin, files_dir / origin.name)
        else:
            raise SourceError(f"{spec.slug}: local source {origin} does not exist")


def _call_preparer(spec: CompetitionSpec, files_dir: Path, salt: bytes) -> pl.DataFrame:
    assert spec.preparer is not None
    module_name, function_name = spec.preparer.split(":")
    try:
        module = importlib.import_module(f"curation.preparers.{module_name}")
        function = getattr(module, function_name)
    except (ImportError, AttributeError) as exc:
        raise SourceError(f"{spec.slug}: preparer {spec.preparer!r} not found in curation/preparers: {exc}") from exc
    # Every preparer takes the salt: ids, file names and random choices it mints are keyed by it.
    frame = function(files_dir, spec, salt=salt)
    if not isinstance(frame, pl.DataFrame):
        raise SourceError(f"{spec.slug}: preparer {spec.preparer!r} returned {type(frame).__name__}, not a DataFrame")
    return frame


def labeled_table(spec: CompetitionSpec, files_dir: Path, salt: bytes) -> pl.DataFrame:
    """The labeled rows of a competition: preparer output or the labeled file, checked against the spec."""
    frame = _call_preparer(spec, files_dir, salt) if spec.preparer else read_table(files_dir / spec.labeled_file)
    missing_drop = [c for c in spec.drop_columns if c not in frame.columns]
    if missing_drop:
        raise SourceError(f"{spec.slug}: drop_columns {missing_drop} are not in the data")
    frame = frame.drop(spec.drop_columns)
    needed = [spec.id_column, *spec.target_columns]
    needed += [c for c in (spec.split.stratify_column, spec.split.group_column, spec.split.time_column) if c]
    needed += spec.split.private_columns
    if spec.files.media:
        needed.append(spec.files.media.column)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SourceError(f"{spec.slug}: columns {missing} named in the spec are not in the data {frame.columns}")
    ids = frame[spec.id_column]
    if ids.null_count():
        raise SourceError(f"{spec.slug}: id column {spec.id_column!r} has {ids.null_count()} null values")
    if ids.n_unique() != frame.height:
        raise SourceError(f"{spec.slug}: id column {spec.id_column!r} has {frame.height - ids.n_unique()} duplicates")
    null_targets = {c: frame[c].null_count() for c in spec.target_columns if frame[c].null_count()}
    if null_targets:
        # Rows without a label cannot be graded; dropping them is what every Kaggle-derived benchmark does.
        frame = frame.drop_nulls(spec.target_columns)
    if spec.schema_:
        _check_schema(spec, frame)
    if spec.source.kind == "builtin" and spec.source.max_rows and frame.height > spec.source.max_rows:
        keep = pl.Series(key_hash(frame[spec.id_column], 0, "subsample", salt), dtype=pl.UInt64)
        frame = frame.with_columns(keep.alias("_k")).sort("_k").head(spec.source.max_rows).drop("_k")
    # Stored in canonical order, so every later stage can stream it and still write identical bytes
    # whatever order the source delivered.
    return frame.sort(canonical_sort_columns(spec.id_column, spec.split), maintain_order=True)


def _check_schema(spec: CompetitionSpec, frame: pl.DataFrame) -> None:
    assert spec.schema_ is not None
    problems = []
    for column, dtype_name in spec.schema_.items():
        if column not in frame.columns:
            problems.append(f"{column}: missing")
        elif str(frame.schema[column]) != dtype_name:
            problems.append(f"{column}: expected {dtype_name}, found {frame.schema[column]}")
    if problems:
        raise SourceError(f"{spec.slug}: data does not match the pinned schema: " + "; ".join(problems))


def fetch_raw(
    spec: CompetitionSpec,
    raw_dir: Path,
    *,
    salt: bytes,
    spec_dir: Path | None = None,
    download: Downloader | None = None,
    force: bool = False,
) -> RawResult:
    """Fetch (or reuse) the raw files and the labeled table of one competition under raw_dir.

    `salt` is the build's secret (curation.secret.salt): preparers key the ids they mint with it.
    """
    key = _source_key(spec, salt)
    manifest = None if force else _cached(raw_dir, key)
    cache_hit = manifest is not None
    if manifest is None:
        files_dir = raw_dir / "files"
        if force and files_dir.exists() and spec.source.kind != "kaggle":
            shutil.rmtree(files_dir)
        (raw_dir / MANIFEST_FILE).unlink(missing_ok=True)
        _fetch_files(spec, files_dir, spec_dir, download, salt)
        labeled = labeled_table(spec, files_dir, salt)
        write_table(labeled, raw_dir / LABELED_FILE)
        files = _inventory(raw_dir)
        manifest = {
            "slug": spec.slug,
            "source_key": key,
            "secret_sha256": salt_sha256(salt),
            "source_sha256": _digest_of(files),
            "labeled_rows": labeled.height,
            "files": files,
        }
        atomic_write_bytes(raw_dir / MANIFEST_FILE, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return RawResult(
        slug=spec.slug,
        raw_dir=raw_dir,
        source_sha256=manifest["source_sha256"],
        files=manifest["files"],
        labeled_rows=manifest["labeled_rows"],
        cache_hit=cache_hit,
    )
