"""Integrity of a rebuilt task: which files differ between two builds of it."""

from __future__ import annotations


def checksum_differences(first: dict, second: dict) -> list[str]:
    """Paths whose sha256 differs between two task.json file lists (or exist in one only)."""
    a = {f["path"]: f["sha256"] for f in first["files"]}
    b = {f["path"]: f["sha256"] for f in second["files"]}
    return sorted(path for path in a.keys() | b.keys() if a.get(path) != b.get(path))
