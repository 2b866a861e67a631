"""Seconds spent by the task checks (GX suites per table, leak audit) on built tasks and on a scaled synthetic task.

    python bench/task_checks_timing.py                      # every served task in $DOJO_HOME
    python bench/task_checks_timing.py --rows 200000 1000000   # synthetic-tabular-binary at these sizes

Prints one line per task: rows, expectations, seconds per stage and per GX table. GX's import
(several seconds) is timed once, apart from the tasks.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from curation.checks import check_task
from curation.layout import Home
from curation.spec import COMPETITIONS_DIR, CompetitionSpec, load_spec

SCALABLE = "synthetic-tabular-binary"


def _line(name: str, rows: int, spec: CompetitionSpec, task_dir: Path) -> str:
    started = time.perf_counter()
    run = check_task(task_dir, spec)
    total = time.perf_counter() - started
    report = run.expectations
    tables = " ".join(f"{t}={s:.2f}" for t, s in (report.seconds.items() if report else []))
    stages = " ".join(f"{k}={v:.2f}" for k, v in run.seconds.items())
    count = len(report.outcomes) if report else 0
    status = "pass" if run.passed else "FAIL " + ",".join(o.name for o in run.outcomes if not o.passed)
    return f"{name:<32} rows={rows:>9} expectations={count:>3} total={total:6.2f}s  {stages}  gx[{tables}]  {status}"


def _built_tasks(home: Home) -> None:
    root = home.root / "tasks"
    for slug_dir in sorted(root.iterdir()) if root.is_dir() else []:
        task_dir = home.current_task_dir(slug_dir.name)
        spec_path = COMPETITIONS_DIR / f"{slug_dir.name}.yaml"
        if task_dir is None or not spec_path.is_file():
            continue
        rows = json.loads((task_dir / "task.json").read_text())["rows"]
        print(_line(slug_dir.name, rows["train"] + rows["test"], load_spec(spec_path), task_dir), flush=True)


def _scaled(sizes: list[int]) -> None:
    from assets.task import build
    from curation.secret import salt
    from curation.sources import fetch_raw

    base = load_spec(COMPETITIONS_DIR / f"{SCALABLE}.yaml")
    with tempfile.TemporaryDirectory(prefix="dojo-bench-") as scratch:
        home = Home(Path(scratch))
        for rows in sizes:
            data = base.model_dump(by_alias=True)
            data["source"]["rows"] = rows
            spec = CompetitionSpec.model_validate(data)
            raw_dir = home.raw_dir(f"{SCALABLE}-{rows}")
            raw = fetch_raw(spec, raw_dir, salt=salt(home), spec_dir=COMPETITIONS_DIR, force=True)
            task_dir = build(spec, home, raw=raw, force=True).task_dir
            print(_line(f"{SCALABLE}@{rows}", rows, spec, task_dir), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", help=f"build {SCALABLE} at these sizes and time its checks")
    args = parser.parse_args()
    started = time.perf_counter()
    import great_expectations  # noqa: F401

    print(f"import great_expectations: {time.perf_counter() - started:.1f}s", flush=True)
    if args.rows:
        _scaled(args.rows)
    else:
        _built_tasks(Home.from_env())


if __name__ == "__main__":
    main()
