"""The resource that tells assets where DOJO_HOME and the competition configs are."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import dagster as dg

from curation.layout import Home, dojo_home
from curation.spec import COMPETITIONS_DIR, Catalog, CompetitionSpec, load_catalog, load_spec


def competitions_dir() -> Path:
    """$DOJO_COMPETITIONS_DIR when set (tests, private catalogs), else the packaged competitions/."""
    override = os.environ.get("DOJO_COMPETITIONS_DIR")
    return Path(override).resolve() if override else COMPETITIONS_DIR


class DojoHomeResource(dg.ConfigurableResource):
    """DOJO_HOME and the competitions dir; empty strings mean the environment's defaults."""

    root: str = ""
    competitions: str = ""

    @property
    def home(self) -> Home:
        return Home(dojo_home(self.root or None))

    @property
    def competitions_path(self) -> Path:
        return Path(self.competitions).resolve() if self.competitions else competitions_dir()

    def spec(self, slug: str) -> CompetitionSpec:
        """The validated spec of one partition; a bad YAML fails only this partition, naming file and field."""
        return load_spec(self.competitions_path / f"{slug}.yaml")

    def catalog(self) -> Catalog:
        return load_catalog(self.competitions_path)


def code_version_of(*paths: Path) -> str:
    """Hash of source files (and whole dirs of YAML), so Dagster marks assets stale when they change."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(path.rglob("*.py")) + sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
