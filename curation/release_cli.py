"""`dojo release create|list|diff|verify`: argparse commands over curation.releases, mounted by pipelines/cli.py."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from curation.layout import Home
from curation.releases import (
    NothingToReleaseError,
    ReleaseError,
    ReleaseExistsError,
    create,
    diff,
    list_releases,
    verify,
)

EXIT_OK = 0
EXIT_FAILED = 1  # refused (existing version, nothing to release) or verification found mismatches
EXIT_USAGE = 2  # bad version name, unknown release or task


def _error(command: str, error: Exception) -> int:
    print(f"dojo release {command}: {error}", file=sys.stderr)
    return EXIT_FAILED if isinstance(error, ReleaseExistsError | NothingToReleaseError) else EXIT_USAGE


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=1, sort_keys=True, default=str))


def cmd_create(args: argparse.Namespace) -> int:
    try:
        result = create(Home.from_env(), args.version, args.notes, slugs=args.only or None)
    except ReleaseError as error:
        return _error("create", error)
    if args.json:
        _print_json(
            {
                "version": result.version,
                "path": str(result.path),
                "included": result.included,
                "excluded": [asdict(e) for e in result.excluded],
            }
        )
        return EXIT_OK
    print(f"release {result.version}: {len(result.included)} tasks at {result.path}")
    for slug in result.included:
        print(f"  + {slug} {result.manifest['tasks'][slug]['task_version']}")
    if result.excluded:
        print(f"left out ({len(result.excluded)}):")
        for exclusion in result.excluded:
            print(f"  - {exclusion.slug}: {exclusion.reason}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    infos = list_releases(Home.from_env())
    if args.json:
        _print_json([asdict(info) for info in infos])
        return EXIT_OK
    if not infos:
        print("no releases")
        return EXIT_OK
    for info in infos:
        latest = "  (latest)" if info is infos[-1] else ""
        commit = (info.git_commit or "no git")[:12]
        notes = f"  {info.notes}" if info.notes else ""
        print(
            f"{info.version}  {info.created_at}  {info.tasks} tasks, {info.excluded} left out  {commit}{notes}{latest}"
        )
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    try:
        result = diff(Home.from_env(), args.old, args.new)
    except ReleaseError as error:
        return _error("diff", error)
    if args.json:
        _print_json(result.to_json())
        return EXIT_OK
    print(f"{result.old} -> {result.new}")
    for slug in result.added:
        print(f"  added    {slug}")
    for slug in result.removed:
        print(f"  removed  {slug}")
    for change in result.changed:
        print(f"  changed  {change.slug} {change.old_version} -> {change.new_version}")
        for label, paths in (("+", change.files_added), ("-", change.files_removed), ("~", change.files_modified)):
            for path in paths:
                print(f"             {label} {path}")
    print(f"  {len(result.unchanged)} unchanged; tables changed: {', '.join(result.tables_changed) or 'none'}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        result = verify(Home.from_env(), args.version)
    except ReleaseError as error:
        return _error("verify", error)
    if args.json:
        _print_json(
            {"version": result.version, "ok": result.ok, "files_checked": result.files_checked}
            | {"mismatches": [asdict(m) for m in result.mismatches]}
        )
    elif result.ok:
        print(f"release {result.version}: all {result.files_checked} files match the manifest")
    else:
        for mismatch in result.mismatches:
            print(f"{mismatch.problem}: {mismatch.path}", file=sys.stderr)
        print(
            f"release {result.version}: {len(result.mismatches)} of {result.files_checked} files do not match",
            file=sys.stderr,
        )
    return EXIT_OK if result.ok else EXIT_FAILED


def add_release_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `release` with create, list, diff and verify; each sets `func(args) -> exit code`."""
    release = subparsers.add_parser("release", help="cut, list, compare and verify immutable releases")
    commands = release.add_subparsers(dest="release_command", required=True)
    handlers: list[tuple[argparse.ArgumentParser, Callable[[argparse.Namespace], int]]] = []

    p = commands.add_parser("create", help="release the tasks whose blocking checks pass")
    p.add_argument("version", help="release version, e.g. 2025.06 or v1 (letters, digits, '.', '_', '-')")
    p.add_argument("--notes", default="", help="free text stored in the manifest")
    p.add_argument("--only", nargs="+", metavar="SLUG", help="consider only these competitions")
    handlers.append((p, cmd_create))

    p = commands.add_parser("list", help="list releases, oldest first")
    handlers.append((p, cmd_list))

    p = commands.add_parser("diff", help="tasks added, removed and changed (with files) between two releases")
    p.add_argument("old")
    p.add_argument("new")
    handlers.append((p, cmd_diff))

    p = commands.add_parser("verify", help="recompute every checksum of a release; exit 1 naming each mismatch")
    p.add_argument("version")
    handlers.append((p, cmd_verify))

    for parser, handler in handlers:
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.set_defaults(func=handler)
