"""catalog: DuckDB tables and views over every competition, task file, metric and leaderboard."""

import json
from pathlib import Path

import dagster as dg

from assets.home_resource import DojoHomeResource, code_version_of
from assets.leaderboard import leaderboard
from curation import catalog as catalog_module
from graders import metrics, render


def catalog_rows(dojo: DojoHomeResource) -> tuple[list[dict], list[dict]]:
    """Competition rows and metric-code rows for every spec that validates."""
    specs = dojo.catalog().specs
    competitions, metric_code = [], []
    for spec in specs.values():
        metric = metrics.METRICS.get(spec.metric.name)
        competitions.append(
            catalog_module.competition_row(spec, dojo.home, metric.higher_is_better if metric else None)
        )
        if metric:
            metric_code.append(
                {
                    "slug": spec.slug,
                    "metric": spec.metric.name,
                    "parameters": json.dumps(spec.metric.params, sort_keys=True),
                    "source": render.metric_source(spec.metric.name),
                }
            )
    return competitions, metric_code


@dg.asset(
    group_name="catalog",
    deps=[leaderboard],
    code_version=code_version_of(Path(catalog_module.__file__)),
    required_resource_keys={"dojo"},
    description="catalog.duckdb: competitions, task_files, metric_code and leaderboards, queryable with duckdb.",
)
def catalog(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Rebuild the DuckDB catalog from what is on disk."""
    dojo: DojoHomeResource = context.resources.dojo
    competitions, metric_code = catalog_rows(dojo)
    counts = catalog_module.build_catalog(dojo.home, competitions, metric_code)
    built = sum(row["status"] == "built" for row in competitions)
    return dg.MaterializeResult(
        metadata={f"rows_{name}": count for name, count in counts.items()}
        | {"built": built, "path": dg.MetadataValue.path(str(dojo.home.catalog_path))}
    )
