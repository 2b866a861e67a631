"""raw_files: each competition's downloaded or generated data and its labeled table, cached by checksum."""

from pathlib import Path

import dagster as dg

from assets.home_resource import DojoHomeResource, code_version_of, competitions_dir
from assets.partitions import competitions_partitions
from curation import secret, sources

# The concurrency pool of pipelines.kaggle_resource (limit it with `dagster instance concurrency set kaggle 2`):
# Kaggle throttles per account, so a backfill must not open every download at once.
KAGGLE_POOL = "kaggle"


@dg.asset(
    partitions_def=competitions_partitions,
    group_name="curation",
    # The specs are part of it: a changed YAML shows the competitions as stale in the UI.
    code_version=code_version_of(Path(sources.__file__), competitions_dir()),
    pool=KAGGLE_POOL,
    required_resource_keys={"dojo", "kaggle"},
    description="Raw files of a competition (Kaggle download, package dataset or generator) and its labeled table.",
)
def raw_files(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Fetch or reuse raw/<slug>/: a cache hit when the source and its files are unchanged."""
    dojo: DojoHomeResource = context.resources.dojo
    slug = context.partition_key
    spec = dojo.spec(slug)
    download = context.resources.kaggle.download if spec.source.kind == "kaggle" else None
    result = sources.fetch_raw(
        spec,
        dojo.home.raw_dir(slug),
        salt=secret.salt(dojo.home),
        spec_dir=dojo.competitions_path,
        download=download,
    )
    total = sum(int(meta["bytes"]) for meta in result.files.values())
    context.log.info(f"{slug}: {'cache hit' if result.cache_hit else 'fetched'}, {result.labeled_rows} labeled rows")
    listing = "\n".join(
        f"| {rel} | {meta['bytes']} | `{str(meta['sha256'])[:16]}` |" for rel, meta in sorted(result.files.items())[:25]
    )
    return dg.MaterializeResult(
        metadata={
            "labeled_rows": result.labeled_rows,
            "bytes": total,
            "files": len(result.files),
            "source_sha256": result.source_sha256,
            "cache_hit": result.cache_hit,
            "source_kind": spec.source.kind,
            "checksums": dg.MetadataValue.md("| file | bytes | sha256 |\n|---|---|---|\n" + listing),
        },
        data_version=dg.DataVersion(result.source_sha256[:16]),
    )
