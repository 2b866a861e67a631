"""Env overhead: median latency of reset, and of execute_code("print(1)") in the sandbox against a bare
`python -c "print(1)"` subprocess, measured interleaved in the same run.

Usage: python bench/env_overhead.py [--slug SLUG] [--repeats N]
Without --slug a tiny fixture task is written to a temporary DOJO_HOME. Last line:
reset_ms=A step_ms=B bare_ms=C step_over_bare=D   (target: D <= 1.5)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _fixture_home(root: Path) -> tuple[Path, str]:
    """A DOJO_HOME holding the tests' tiny binary task."""
    sys.path.insert(0, str(REPO / "tests"))
    from task_fixtures import make_task

    make_task(root, "binary")
    return root, "tiny-binary"


def _milliseconds(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slug", help="a built task under DOJO_HOME (default: a temporary fixture task)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    import dojo
    from dojo.sandbox import bubblewrap_problem

    problem = bubblewrap_problem()
    if problem is not None:
        print(f"bubblewrap is not usable here ({problem}); the benchmark measures the sandbox", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="dojo-bench-") as tmp:
        if args.slug:
            home, slug = None, args.slug
        else:
            home, slug = _fixture_home(Path(tmp) / "home")
        env = dojo.make(slug, home=home, out_dir=Path(tmp) / "run", max_steps=args.repeats + 5)
        env.reset()  # warm caches (task.json, leaderboard, interpreter files) before timing
        resets = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            env.reset()
            resets.append(time.perf_counter() - started)
        action = {"action": "execute_code", "params": {"code": "print(1)\n"}}
        bare_command = [sys.executable, "-c", "print(1)"]
        steps, bares = [], []
        for _ in range(args.repeats):
            # Interleaved, so that load from anything else on the machine hits both alike.
            started = time.perf_counter()
            observation, *_ = env.step(action)
            steps.append(time.perf_counter() - started)
            if observation["status"] != "ok" or observation["stdout"] != "1\n":
                print(f"execute_code failed: {observation['text']}", file=sys.stderr)
                return 1
            started = time.perf_counter()
            subprocess.run(bare_command, check=True, stdout=subprocess.DEVNULL)
            bares.append(time.perf_counter() - started)
        env.close()
    reset_ms, step_ms, bare_ms = _milliseconds(resets), _milliseconds(steps), _milliseconds(bares)
    print(f"task {slug}, {args.repeats} repeats, medians:")
    print(f"  reset                         {reset_ms:8.1f} ms")
    print(f"  execute_code print(1), bwrap  {step_ms:8.1f} ms")
    print(f"  bare python -c print(1)       {bare_ms:8.1f} ms")
    print(f"reset_ms={reset_ms:.1f} step_ms={step_ms:.1f} bare_ms={bare_ms:.1f} step_over_bare={step_ms / bare_ms:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
