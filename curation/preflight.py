"""`dojo preflight`: before a long build, check Kaggle credentials and each competition's access and size."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from curation.kaggle_client import (
    CompetitionNotFoundError,
    CredentialsError,
    KaggleClient,
    KaggleError,
    RulesNotAcceptedError,
    cached_archive,
    read_manifest,
    rules_url,
)
from curation.layout import Home
from curation.spec import CompetitionSpec, KaggleSource


@dataclass(frozen=True)
class PreflightRow:
    """What preflight found for one competition. None means "not checked" (e.g. no credentials to ask with)."""

    slug: str  # the spec's slug (raw/<slug>/ on disk)
    competition: str  # the Kaggle competition name (the spec's source.competition, else the slug)
    credentials: str | None  # where the credentials came from; None when none were found
    credentials_ok: bool | None  # False when missing or rejected (401); None when never tried
    reachable: bool | None  # Kaggle knows the competition
    rules_accepted: bool | None
    download_bytes: int | None  # the archive's size; the listed files' total when the rules block it
    cached: bool  # raw/<slug>/download holds an archive matching its manifest (size-checked)
    cached_bytes: int | None
    problem: str | None  # the first thing to fix, in words

    @property
    def ready(self) -> bool:
        """A build can get this competition's data: cached, or reachable with accepted rules."""
        return self.cached or bool(self.credentials_ok and self.reachable and self.rules_accepted)


def preflight(
    slugs: Iterable[str],
    home: Home,
    *,
    client: KaggleClient | None = None,
    competitions: Mapping[str, str] | None = None,
) -> list[PreflightRow]:
    """Check each slug: credentials, reachable, rules accepted, download size, cached. Never raises for Kaggle faults.

    Each competition costs one request: the download's own request, headers only (`download_size`), which fails
    as the download would (Kaggle's competition list cannot tell, since it leaves out ended competitions). When
    the rules are not accepted, the size comes from the file list instead. `competitions` maps a spec slug to
    its Kaggle name when they differ. After a 401 the rest are not asked about: a bad key costs one request.
    """
    kaggle = client or KaggleClient()
    names = dict(competitions or {})
    try:
        source: str | None = kaggle.credentials.source
        credentials_ok: bool | None = None
        credentials_problem: str | None = None
    except CredentialsError as exc:
        source, credentials_ok, credentials_problem = None, False, str(exc)
    rows = []
    for slug in slugs:
        competition = names.get(slug, slug)
        raw_dir = home.raw_dir(slug)
        cached = cached_archive(competition, raw_dir) is not None
        manifest = read_manifest(raw_dir / "download") if cached else None
        cached_bytes = int(manifest["bytes"]) if manifest else None
        reachable: bool | None = None
        rules: bool | None = None
        size: int | None = None
        problem = credentials_problem
        if credentials_ok is not False:
            try:
                size = kaggle.download_size(competition)
                reachable, rules, credentials_ok = True, True, True
            except CredentialsError as exc:
                credentials_ok, credentials_problem = False, str(exc)
                problem = credentials_problem
            except CompetitionNotFoundError as exc:
                credentials_ok, reachable, problem = True, False, str(exc)
            except RulesNotAcceptedError:
                credentials_ok, reachable, rules = True, True, False
                problem = f"rules not accepted: accept them at {rules_url(competition)}"
                size = _listed_size(kaggle, competition)
            except KaggleError as exc:
                problem = str(exc)
        rows.append(
            PreflightRow(
                slug=slug,
                competition=competition,
                credentials=source,
                credentials_ok=credentials_ok,
                reachable=reachable,
                rules_accepted=rules,
                download_bytes=size,
                cached=cached,
                cached_bytes=cached_bytes,
                problem=problem,
            )
        )
    return rows


def preflight_specs(
    specs: Iterable[CompetitionSpec], home: Home, *, client: KaggleClient | None = None
) -> list[PreflightRow]:
    """Preflight for the Kaggle-sourced specs among `specs` (others need no download), in the order given."""
    names = {spec.slug: spec.source.competition or spec.slug for spec in specs if isinstance(spec.source, KaggleSource)}
    return preflight(list(names), home, client=client, competitions=names)


def exit_code(rows: list[PreflightRow]) -> int:
    """0 when every competition is ready, 1 otherwise (for `dojo preflight` and scripts)."""
    return 0 if all(row.ready for row in rows) else 1


def _listed_size(kaggle: KaggleClient, competition: str) -> int | None:
    """The data size from the file list, for a competition whose archive cannot be asked for yet."""
    try:
        return sum(item.bytes for item in kaggle.data_files(competition))
    except KaggleError:
        return None


def human_bytes(count: int | None) -> str:
    """1536 -> '1.5 KB' (powers of 1024, as Kaggle shows sizes); None -> '?'."""
    if count is None:
        return "?"
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else "yes" if value else "no"


def _status(row: PreflightRow) -> str:
    if row.ready:
        return "ready (cached)" if row.cached else "ready"
    if row.credentials_ok is False:
        return "no credentials" if row.credentials is None else "credentials rejected"
    if row.reachable is False:
        return "unknown competition"
    if row.rules_accepted is False:
        return "accept rules"
    return "unavailable"


def format_table(rows: list[PreflightRow]) -> str:
    """A plain-text table: credentials line, one row per competition, then the problems to fix."""
    if rows:
        first = rows[0]
        state = {True: "ok", False: "rejected" if first.credentials else "missing", None: "not checked"}
        credentials = f"credentials: {first.credentials or 'none found'} ({state[first.credentials_ok]})"
    else:
        credentials = "credentials: not checked (no competitions)"
    header = ("competition", "reachable", "rules", "size", "cached", "status")
    body = [
        (
            row.slug,
            _yes_no(row.reachable),
            _yes_no(row.rules_accepted),
            human_bytes(row.download_bytes),
            human_bytes(row.cached_bytes) if row.cached else "no",
            _status(row),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [credentials, ""]
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    ]
    problems = [f"- {row.slug}: {row.problem}" for row in rows if row.problem and not row.ready]
    if problems:
        lines += ["", "to fix:", *problems]
    return "\n".join(lines)


def summary(rows: list[PreflightRow]) -> dict[str, int]:
    """Counts and byte totals behind the one-line total."""
    return {
        "competitions": len(rows),
        "ready": sum(row.ready for row in rows),
        "blocked": sum(not row.ready for row in rows),
        "cached": sum(row.cached for row in rows),
        "download_bytes": sum(row.download_bytes or 0 for row in rows if not row.cached),
        "cached_bytes": sum(row.cached_bytes or 0 for row in rows if row.cached),
        "unknown_size": sum(row.download_bytes is None for row in rows if not row.cached),
    }


def format_total(rows: list[PreflightRow]) -> str:
    """One line: how many are ready, how many blocked, how much is left to download."""
    totals = summary(rows)
    unknown = f" (+{totals['unknown_size']} of unknown size)" if totals["unknown_size"] else ""
    return (
        f"{totals['competitions']} competitions: {totals['ready']} ready, {totals['blocked']} blocked; "
        f"{human_bytes(totals['download_bytes'])} to download{unknown}, {totals['cached']} cached "
        f"({human_bytes(totals['cached_bytes'])})"
    )


def to_json(rows: list[PreflightRow]) -> str:
    """The rows (with `ready` and `status`) and the totals, as JSON."""
    payload = {
        "competitions": [{**asdict(row), "ready": row.ready, "status": _status(row)} for row in rows],
        "total": summary(rows),
    }
    return json.dumps(payload, indent=2)
