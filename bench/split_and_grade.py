"""Split+write and grading: MLE-Dojo's polars code against the pandas/scikit-learn way, same data, same run.

Each contender runs in its own child process, so its wall time and peak memory (ru_maxrss from wait4)
are its own. Baseline, as existing benchmarks do it: pandas.read_csv, sklearn train_test_split,
DataFrame.to_csv; grading with pandas.read_csv + merge + the scikit-learn metric.
Ours: curation.tasks.write_split_files (the split+write that runs on every rebuild; it streams the
canonical labeled.parquet that the fetch stage caches once per data version, timed on its own line
as raw-cache-ours and not part of the ratios), and graders.submission_checks.score_submission.

    python bench/split_and_grade.py --rows 10000000

The last line: split_speedup=X grade_speedup=Y split_mem_ratio=Z grade_mem_ratio=W (memory ours/baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def make_inputs(rows: int, workdir: Path) -> None:
    """The raw labeled CSV (both contenders start from it) and an N-row submission with its answers."""
    import numpy as np
    import polars as pl

    from curation.synthetic import generate

    generate("tabular_binary", rows, 0, {}).write_csv(workdir / "train.csv")
    rng = np.random.default_rng(1)
    ids = np.arange(rows, dtype=np.int64)
    truth = rng.integers(0, 2, rows)
    board = pl.Series(np.where(rng.random(rows) < 0.5, "public", "private"), dtype=pl.Enum(["public", "private"]))
    answers = pl.DataFrame({"id": ids, "target": truth, "board": board})  # as the task builder stores them
    answers.write_parquet(workdir / "answers.parquet")
    answers.write_csv(workdir / "answers.csv")
    noisy = np.clip(truth * 0.3 + rng.random(rows) * 0.7, 0, 1)
    pl.DataFrame({"id": ids, "target": noisy}).sample(fraction=1.0, shuffle=True, seed=2).write_csv(
        workdir / "submission.csv"
    )


def _bench_spec():
    from curation.spec import CompetitionSpec

    return CompetitionSpec.model_validate(
        {
            "slug": "bench",
            "title": "bench",
            "source": {"kind": "local", "path": "train.csv"},
            "task_type": "binary",
            "target_columns": ["target"],
            "metric": {"name": "roc_auc"},
            "split": {"method": "stratified", "stratify_column": "target", "test_fraction": 0.2},
            "description": "benchmark",
        }
    )


def raw_cache_ours(workdir: Path) -> dict:
    """Our fetch stage, once per data version: the CSV becomes the canonical labeled.parquet cache."""
    from curation.layout import Home
    from curation.secret import salt
    from curation.sources import fetch_raw

    result = fetch_raw(_bench_spec(), workdir / "raw", salt=salt(Home(workdir)), spec_dir=workdir)
    return {"labeled_rows": result.labeled_rows}


def split_ours(workdir: Path) -> dict:
    """Our split+write (what reruns on every spec or split change): streams the labeled cache."""
    from curation.layout import Home
    from curation.secret import salt
    from curation.sources import LABELED_FILE
    from curation.tasks import write_split_files

    public, private = workdir / "ours" / "public", workdir / "ours" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    raw = workdir / "raw"
    written = write_split_files(
        _bench_spec(), raw / LABELED_FILE, raw / "files", public, private, "probability", salt=salt(Home(workdir))
    )
    return {"train": written.rows["train"], "test": written.rows["test"]}


def split_baseline(workdir: Path) -> dict:
    import pandas as pd
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(workdir / "train.csv")
    train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=frame["target"])
    out = workdir / "baseline"
    out.mkdir(exist_ok=True)
    train.to_csv(out / "train.csv", index=False)
    test.drop(columns=["target"]).to_csv(out / "test.csv", index=False)
    test[["id", "target"]].to_csv(out / "answers.csv", index=False)
    return {"train": len(train), "test": len(test)}


def grade_ours(workdir: Path) -> dict:
    from graders.metrics import get_metric
    from graders.submission_checks import score_submission

    meta = {
        "slug": "bench",
        "id_column": "id",
        "target_columns": ["target"],
        "prediction_columns": ["target"],
        "prediction": "probability",
        "metric": {"name": "roc_auc", "params": {}},
        "higher_is_better": True,
        "classes": None,
    }
    # Given as a path, as `dojo grade` and grader.py pass it: read once the submission is parsed.
    answers = workdir / "answers.parquet"
    score = score_submission(workdir / "submission.csv", answers, meta, "private", get_metric("roc_auc"))
    return {"score": score}


def grade_baseline(workdir: Path) -> dict:
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    submission = pd.read_csv(workdir / "submission.csv")
    answers = pd.read_csv(workdir / "answers.csv")
    answers = answers[answers["board"] == "private"]
    merged = answers.merge(submission, on="id", how="left", suffixes=("", "_pred"))
    return {"score": float(roc_auc_score(merged["target"], merged["target_pred"]))}


PHASES = {
    "raw-cache-ours": raw_cache_ours,
    "split-ours": split_ours,
    "split-baseline": split_baseline,
    "grade-ours": grade_ours,
    "grade-baseline": grade_baseline,
}


def run_child(phase: str, workdir: Path) -> dict:
    """Run one phase in a fresh interpreter; wall seconds (imports excluded) and peak RSS in MiB."""
    command = [sys.executable, __file__, "--phase", phase, "--workdir", str(workdir)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, cwd=REPO_ROOT, env=os.environ | {"PYTHONPATH": str(REPO_ROOT)}
    )
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"phase {phase} failed with status {status}")
    result = json.loads(output.decode().strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


# What each phase imports before its clock starts: both sides pay their imports, and they are not the work
# measured. Each phase imports only its own, as its real caller would (grader.py imports no curation code).
PHASE_IMPORTS = {
    "raw-cache-ours": ("polars", "curation.spec", "curation.sources"),
    "split-ours": ("polars", "curation.spec", "curation.sources", "curation.tasks"),
    "split-baseline": ("pandas", "sklearn.model_selection"),
    "grade-ours": ("polars", "graders.metrics", "graders.submission_checks"),
    "grade-baseline": ("pandas", "sklearn.metrics"),
}


def child_main(phase: str, workdir: Path) -> None:
    import importlib

    for module in PHASE_IMPORTS[phase]:
        importlib.import_module(module)
    started = time.perf_counter()
    result = PHASES[phase](workdir)
    result["seconds"] = time.perf_counter() - started
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--make-inputs", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_inputs:
        make_inputs(args.rows, args.workdir)
        return
    if args.phase:
        child_main(args.phase, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="dojo-bench-") as scratch:
        workdir = Path(scratch)
        started = time.perf_counter()
        # Made in a child so this process stays small: Linux counts the image a child is forked from in the
        # child's ru_maxrss, so a parent holding the generated data would inflate every phase's peak alike.
        command = [sys.executable, __file__, "--make-inputs", "--rows", str(args.rows), "--workdir", str(workdir)]
        subprocess.run(command, check=True, cwd=REPO_ROOT, env=os.environ | {"PYTHONPATH": str(REPO_ROOT)})
        size = (workdir / "train.csv").stat().st_size / 2**20
        print(f"rows={args.rows:,} raw_csv={size:.0f}MiB inputs made in {time.perf_counter() - started:.1f}s")
        results = {phase: run_child(phase, workdir) for phase in PHASES}
    for phase, result in results.items():
        extra = {k: v for k, v in result.items() if k not in ("seconds", "peak_mib")}
        print(f"{phase:<15} {result['seconds']:8.2f} s   peak {result['peak_mib']:8.0f} MiB   {extra}")
    if abs(results["grade-ours"]["score"] - results["grade-baseline"]["score"]) > 1e-9:
        raise SystemExit("the two graders disagree on the score")
    split_speedup = results["split-baseline"]["seconds"] / results["split-ours"]["seconds"]
    grade_speedup = results["grade-baseline"]["seconds"] / results["grade-ours"]["seconds"]
    split_mem = results["split-ours"]["peak_mib"] / results["split-baseline"]["peak_mib"]
    grade_mem = results["grade-ours"]["peak_mib"] / results["grade-baseline"]["peak_mib"]
    print(
        f"split_speedup={split_speedup:.2f} grade_speedup={grade_speedup:.2f} "
        f"split_mem_ratio={split_mem:.2f} grade_mem_ratio={grade_mem:.2f}"
    )


if __name__ == "__main__":
    main()
