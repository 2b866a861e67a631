"""Donald Trump's campaign tweets labeled by the phone that sent them (Android or iPhone), from dslabs."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.row_ids import with_row_ids
from curation.spec import CompetitionSpec

# The window dslabs' textbook analyses: announcement of the campaign to election day. Before it the account
# used other clients, after it only the iPhone, so the date alone would give the label away.
CAMPAIGN_START = "2015-06-17"
CAMPAIGN_END = "2016-11-09"  # exclusive
SOURCES = {"Twitter for Android": "Android", "Twitter for iPhone": "iPhone"}


def campaign_sources(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """Original (not retweeted) campaign tweets from Android or iPhone: id, created_at, text, counts, source."""
    if spec.target_columns != ["source"]:
        raise ValueError(f"{spec.slug}: campaign_sources produces the target 'source', spec has {spec.target_columns}")
    raw = pl.read_parquet(files_dir / spec.labeled_file)
    tweets = raw.filter(
        pl.col("created_at").is_between(pl.lit(CAMPAIGN_START), pl.lit(CAMPAIGN_END), closed="left"),
        ~pl.col("is_retweet"),
        pl.col("source").is_in(list(SOURCES)),
    )
    table = tweets.select(
        "created_at",
        "text",
        "retweet_count",
        "favorite_count",
        pl.col("source").replace_strict(SOURCES, return_dtype=pl.String),
    )
    return with_row_ids(table, spec, salt)
