"""Keep the dynamic "competitions" partitions equal to the YAML files in the competitions dir."""

from __future__ import annotations

import dagster as dg

from assets.home_resource import competitions_dir
from assets.partitions import competitions_partitions


def partition_changes(existing: set[str], wanted: set[str]) -> tuple[list[str], list[str]]:
    """Slugs to add and slugs to delete so that partitions equal the config files."""
    return sorted(wanted - existing), sorted(existing - wanted)


def wanted_slugs() -> set[str]:
    """One partition per YAML file, valid or not: an invalid one then fails visibly in its own partition."""
    return {path.stem for path in competitions_dir().glob("*.yaml")}


def sync_partitions(instance: dg.DagsterInstance) -> tuple[list[str], list[str]]:
    """Add and delete partitions on an instance directly (used by `dojo build`)."""
    existing = set(instance.get_dynamic_partitions(competitions_partitions.name))
    added, removed = partition_changes(existing, wanted_slugs())
    if added:
        instance.add_dynamic_partitions(competitions_partitions.name, added)
    for slug in removed:
        instance.delete_dynamic_partition(competitions_partitions.name, slug)
    return added, removed


@dg.sensor(minimum_interval_seconds=30, description="Adds a partition per new competition YAML, drops removed ones.")
def competitions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Sync the partitions from the YAML files."""
    existing = set(context.instance.get_dynamic_partitions(competitions_partitions.name))
    added, removed = partition_changes(existing, wanted_slugs())
    if not added and not removed:
        return dg.SkipReason(f"{len(existing)} competitions, in sync with the YAML files")
    return dg.SensorResult(
        dynamic_partitions_requests=[
            *([competitions_partitions.build_add_request(added)] if added else []),
            *([competitions_partitions.build_delete_request(removed)] if removed else []),
        ]
    )
