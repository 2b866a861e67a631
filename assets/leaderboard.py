"""leaderboard: a Kaggle snapshot (public + private) or, offline, the reference ladder of scikit-learn entries."""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.home_resource import DojoHomeResource, code_version_of
from assets.partitions import competitions_partitions
from assets.task import task
from curation.kaggle_leaderboards import check_direction
from graders import leaderboards, metrics


def _board_table(board: pl.DataFrame) -> str:
    rows = board.filter(pl.col("board") == "private").sort("rank").head(15)
    lines = [f"| {r['rank']} | {r['entry'] or ''} | {r['score']:.6g} |" for r in rows.iter_rows(named=True)]
    return "| rank | entry | score |\n|---|---|---|\n" + "\n".join(lines)


@dg.asset(
    partitions_def=competitions_partitions,
    group_name="curation",
    deps=[task],
    code_version=code_version_of(Path(leaderboards.__file__)),
    pool="kaggle",  # it calls Kaggle for Kaggle competitions: same throttle as raw_files
    required_resource_keys={"dojo", "kaggle"},
    check_specs=[
        dg.AssetCheckSpec(
            "direction_matches_metric",
            asset="leaderboard",
            blocking=True,
            partitions_def=competitions_partitions,
            description="Scores run from best to worst in the metric's direction on every board.",
        )
    ],
    description="leaderboards/<slug>/<snapshot>.parquet: rank, score, board, kind, entry, snapshot, team_count.",
)
def leaderboard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Snapshot the competition's leaderboard; the reference ladder is refit only for a new task version."""
    dojo: DojoHomeResource = context.resources.dojo
    slug = context.partition_key
    spec = dojo.spec(slug)
    home = dojo.home
    task_dir = home.current_task_dir(slug)
    if task_dir is None:
        raise FileNotFoundError(f"{slug}: no built task; materialize task first")
    board_dir = home.leaderboard_dir(slug)
    if spec.source.kind == "kaggle":
        board = context.resources.kaggle.leaderboard(spec.source.competition or slug)
        if board.is_empty():
            raise ValueError(f"{slug}: Kaggle returned an empty leaderboard; position scores need at least one entry")
        snapshot = str(board["snapshot"][0])
        cache_hit = False
    else:
        snapshot = f"reference-{task_dir.name}"
        cache_hit = (board_dir / f"{snapshot}.parquet").is_file()
        board = (
            pl.read_parquet(board_dir / f"{snapshot}.parquet")
            if cache_hit
            else leaderboards.reference_ladder(task_dir, snapshot)
        )
    # Old reference snapshots of earlier task versions would shadow nothing but confuse readers: keep one.
    for stale in board_dir.glob("reference-*.parquet") if board_dir.is_dir() else []:
        if stale.stem != snapshot:
            stale.unlink()
    path = leaderboards.write_snapshot(board, board_dir, snapshot)
    directions = check_direction(board, metrics.get_metric(spec.metric.name).higher_is_better)
    dummy = leaderboards.dummy_score(board)
    return dg.MaterializeResult(
        metadata={
            "snapshot": snapshot,
            "kind": str(board["kind"][0]),
            "entries": int((board["board"] == "private").sum()),
            "cache_hit": cache_hit,
            "path": dg.MetadataValue.path(str(path)),
            "dummy_private_score": dummy if dummy is not None else float("nan"),
            "private_board": dg.MetadataValue.md(_board_table(board)),
        },
        data_version=dg.DataVersion(snapshot),
        check_results=[
            dg.AssetCheckResult(
                check_name="direction_matches_metric",
                passed=all(check.ok for check in directions),
                metadata={check.board: check.message for check in directions},
            )
        ],
    )
