"""KaggleResource: credentials through EnvVar, download and leaderboard from inside a Dagster asset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from fake_kaggle import FakeCompetition, FakeKaggle, isolated_env, make_board, spaceship_titanic_files

from curation.kaggle_client import CredentialsError, RulesNotAcceptedError
from pipelines.kaggle_resource import KAGGLE_POOL, KaggleResource, kaggle_resource_from_env

SLUG = "spaceship-titanic"


@pytest.fixture
def fake() -> Iterator[FakeKaggle]:
    with FakeKaggle() as server:
        server.add(
            FakeCompetition(
                SLUG,
                spaceship_titanic_files(),
                public_board=make_board([0.82, 0.81, 0.80]),
                private_board=make_board([0.81, 0.80, 0.78]),
            )
        )
        server.add(FakeCompetition("rules-first", spaceship_titanic_files(rows=20, test_rows=5), rules_accepted=False))
        yield server


def _materialize(resource: KaggleResource, raw_dir: Path) -> dict[str, object]:
    """Run one asset that uses the resource the way raw_files and leaderboard do; return its metadata."""

    @dg.asset(pool=KAGGLE_POOL)
    def kaggle_probe(kaggle: KaggleResource) -> dg.MaterializeResult:
        result = kaggle.download(SLUG, raw_dir)
        board = kaggle.leaderboard(SLUG, snapshot="2024-07-01")
        return dg.MaterializeResult(
            metadata={"sha256": result.sha256, "cached": result.cached, "boards": sorted(set(board["board"]))}
        )

    outcome = dg.materialize([kaggle_probe], resources={"kaggle": resource})
    assert outcome.success
    (event,) = outcome.get_asset_materialization_events()
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_env_credentials_flow_through_envvar(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = isolated_env(monkeypatch, fake, tmp_path, credentials="env")
    resource = kaggle_resource_from_env()
    assert isinstance(resource.username, dg.EnvVar) and isinstance(resource.key, dg.EnvVar)
    assert resource.api_token is None
    metadata = _materialize(resource, home / "raw" / SLUG)
    assert metadata["cached"] is False and metadata["boards"] == ["private", "public"]
    assert all(header.startswith("Basic ") for header in fake.auth_headers)
    again = _materialize(resource, home / "raw" / SLUG)
    assert again["cached"] is True and again["sha256"] == metadata["sha256"]
    assert fake.count("DownloadDataFiles") == 1


def test_token_envvar_and_file_credentials(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = isolated_env(monkeypatch, fake, tmp_path, credentials="token")
    resource = kaggle_resource_from_env()
    assert isinstance(resource.api_token, dg.EnvVar) and resource.username is None
    _materialize(resource, home / "raw" / SLUG)
    assert fake.auth_headers and all(h == f"Bearer {fake.token}" for h in fake.auth_headers)


def test_unset_variables_are_not_wired(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = isolated_env(monkeypatch, fake, tmp_path, credentials="kaggle_json")
    resource = kaggle_resource_from_env()
    assert (resource.api_token, resource.username, resource.key) == (None, None, None)
    # kaggle.json in the temp HOME is found at run time
    metadata = _materialize(resource, home / "raw" / SLUG)
    assert metadata["cached"] is False
    assert kaggle_resource_from_env({"KAGGLE_KEY": "k"}).key is not None


def test_explicit_token_may_be_a_file(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = isolated_env(monkeypatch, fake, tmp_path, credentials=None)
    token_file = tmp_path / "token"
    token_file.write_text(fake.token + "\n")
    resource = KaggleResource(api_token=str(token_file), retry_initial_delay=0.001)
    result = resource.download(SLUG, home / "raw" / SLUG)
    assert (result.files_dir / "train.csv").is_file()
    frame = resource.leaderboard(SLUG)
    assert isinstance(frame, pl.DataFrame) and frame.height == 6


def test_resource_errors_are_kaggle_errors(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = isolated_env(monkeypatch, fake, tmp_path, credentials=None)
    with pytest.raises(CredentialsError):
        KaggleResource().download(SLUG, home / "raw" / SLUG)
    resource = KaggleResource(username=fake.username, key=fake.key, retry_initial_delay=0.001)
    with pytest.raises(RulesNotAcceptedError, match="rules-first/rules"):
        resource.download("rules-first", home / "raw" / "rules-first")
    assert "fake-key" not in repr(resource.client())


def test_secrets_stay_out_of_the_resource_repr() -> None:
    resource = KaggleResource(api_token="token-secret-1", username="someone", key="key-secret-2")
    text = repr(resource) + str(resource)
    assert "secret" not in text and "someone" in text
