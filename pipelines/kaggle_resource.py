"""The Kaggle resource of the raw-files and leaderboard assets: credentials from the environment, throttled."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from curation.kaggle_client import (
    Credentials,
    DownloadResult,
    ExtractionLimits,
    KaggleClient,
    RetryPolicy,
    find_credentials,
)
from curation.kaggle_leaderboards import leaderboard_snapshot

# Dagster concurrency pool for every op that calls Kaggle (`@asset(pool=KAGGLE_POOL)`): Kaggle rate-limits
# per account, so a backfill over 200 competitions must not open 200 downloads at once. Set its limit with
# `dagster instance concurrency set kaggle 2` (or `concurrency: pools: default_limit` in dagster.yaml).
KAGGLE_POOL = "kaggle"
KAGGLE_POOL_LIMIT = 2

# Resource field -> environment variable; the one place where Kaggle secrets are switched.
CREDENTIAL_ENV_VARS = {"api_token": "KAGGLE_API_TOKEN", "username": "KAGGLE_USERNAME", "key": "KAGGLE_KEY"}


class KaggleResource(dg.ConfigurableResource):
    """Downloads competition files and leaderboard snapshots with the `kaggle` client.

    Contract:
    - Credentials: `api_token`, else `username` + `key`, else whatever `find_credentials()` finds at run time
      (~/.kaggle/access_token, kaggle.json). Give them as `dg.EnvVar(...)` (see `kaggle_resource_from_env`) so
      Dagster never stores or displays the secret. A token in the environment wins over a username/key, as it
      does inside the `kaggle` client.
    - `download(slug, raw_dir)` fills raw_dir/files/ from the cached, sha256-checked archive in
      raw_dir/download/ and downloads only when that archive is missing or damaged.
    - `leaderboard(slug, snapshot)` returns the public and (when Kaggle has one) private board as a frame with the
      columns of leaderboards/<slug>/<snapshot>.parquet, team names dropped.
    - Errors are `curation.kaggle_client.KaggleError` subclasses whose message says what to do.
    - Ops that use it belong to the `KAGGLE_POOL` concurrency pool.
    """

    # repr=False: a resource's repr can reach logs and error reports; the secrets must not.
    api_token: str | None = Field(default=None, repr=False, description="Kaggle access token (use EnvVar)")
    username: str | None = Field(default=None, description="Kaggle username of a legacy API key (use EnvVar)")
    key: str | None = Field(default=None, repr=False, description="Kaggle legacy API key (use EnvVar)")
    retry_initial_delay: float = Field(default=1.0, ge=0, description="first backoff delay, seconds")
    retry_max_attempts: int = Field(default=8, ge=1, description="attempts per request on 429/5xx")
    retry_max_total_seconds: float = Field(default=600.0, ge=0, description="total backoff budget per request")
    max_archive_members: int = Field(default=ExtractionLimits().max_members, gt=0)
    max_archive_bytes: int = Field(default=ExtractionLimits().max_total_bytes, gt=0)

    def credentials(self) -> Credentials | None:
        """The configured credentials, or the ones found on this machine; None when there are none."""
        if self.api_token:
            token = self.api_token.strip()
            path = Path(token).expanduser()
            if len(token) < 4096 and path.is_file():
                token = path.read_text(encoding="utf-8").strip()
            return Credentials(source="KaggleResource.api_token", token=token)
        if self.username and self.key:
            return Credentials(source="KaggleResource.username/key", username=self.username, key=self.key)
        return find_credentials()

    def client(self) -> KaggleClient:
        """A client with this resource's credentials, retry policy and extraction bounds."""
        return KaggleClient(
            self.credentials(),
            retry=RetryPolicy(
                initial_delay=self.retry_initial_delay,
                max_attempts=self.retry_max_attempts,
                max_total_seconds=self.retry_max_total_seconds,
            ),
            limits=ExtractionLimits(max_members=self.max_archive_members, max_total_bytes=self.max_archive_bytes),
        )

    def download(self, slug: str, raw_dir: Path) -> DownloadResult:
        """The Kaggle competition `slug` extracted into raw_dir/files/ (cached archive in raw_dir/download/)."""
        return self.client().download(slug, Path(raw_dir))

    def leaderboard(self, slug: str, snapshot: str | None = None) -> pl.DataFrame:
        """Public and private leaderboard of `slug` (snapshot: a date string, default today in UTC)."""
        return leaderboard_snapshot(self.client(), slug, snapshot)


def kaggle_resource_from_env(environ: Mapping[str, str] | None = None) -> KaggleResource:
    """A KaggleResource reading each credential variable that is set through `dg.EnvVar`.

    Only set variables are wired: an EnvVar of an unset variable fails the whole run, while a user with just
    ~/.kaggle/kaggle.json has none of them set.
    """
    env = os.environ if environ is None else environ
    wired = {field: dg.EnvVar(name) for field, name in CREDENTIAL_ENV_VARS.items() if env.get(name)}
    return KaggleResource(**wired)
