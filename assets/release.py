"""release: an immutable, versioned snapshot of every task whose blocking checks pass, cut from the UI or the CLI."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from assets.catalog import catalog
from assets.home_resource import DojoHomeResource, code_version_of
from curation import releases


class ReleaseConfig(dg.Config):
    """Run config of the release job: the version to create (never an existing one) and its notes."""

    version: str = Field(description="Release version: letters, digits, '.', '_' and '-', e.g. 2025.06 or v1.")
    notes: str = Field(default="", description="Free text stored in the manifest.")
    only: list[str] = Field(default_factory=list, description="Consider only these competitions (default: all built).")


def _exclusions_table(result: releases.ReleaseResult) -> str:
    lines = ["| competition | task version | why left out |", "|---|---|---|"]
    lines += [f"| {e.slug} | {e.task_version or ''} | {e.reason} |" for e in result.excluded]
    return "\n".join(lines)


@dg.asset(
    group_name="release",
    deps=[catalog],
    code_version=code_version_of(Path(releases.__file__)),
    required_resource_keys={"dojo"},
    description="releases/<version>/: Parquet tables, task files and a manifest of sha256 checksums; immutable.",
)
def release(context: dg.AssetExecutionContext, config: ReleaseConfig) -> dg.MaterializeResult:
    """Create release `config.version` from the served tasks whose checks.json records no failed blocking check."""
    dojo: DojoHomeResource = context.resources.dojo
    result = releases.create(dojo.home, config.version, config.notes, slugs=config.only or None)
    manifest = result.manifest
    context.log.info(f"release {result.version}: {len(result.included)} tasks, {len(result.excluded)} left out")
    return dg.MaterializeResult(
        metadata={
            "version": result.version,
            "path": dg.MetadataValue.path(str(result.path)),
            "tasks": len(result.included),
            "left_out": len(result.excluded),
            "files": len(manifest["files"]),
            "git_commit": str(manifest["git"]["commit"]),
            "included": ", ".join(result.included),
            "exclusions": dg.MetadataValue.md(_exclusions_table(result)),
        },
        data_version=dg.DataVersion(result.version),
    )


release_job = dg.define_asset_job(
    "create_release",
    selection=dg.AssetSelection.assets(release),
    description="Cut an immutable release (run config: version, notes) of the tasks that pass their checks.",
)
