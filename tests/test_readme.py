"""The README's worked example of adding a competition builds and grades as written."""

import json
import re
from pathlib import Path

import yaml
from conftest import REPO_ROOT, run_dojo


def readme_yaml() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    return re.search(r"```yaml\n(.*?)```", text, re.S).group(1)


def test_readme_has_exactly_two_setup_commands():
    text = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"## Set-up: the two commands\n.*?```bash\n(.*?)```", text, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == [".ci/setup && .venv/bin/dojo build", ".ci/setup --test && .venv/bin/pytest"]
    assert ".ci/setup --test && .venv/bin/pytest" in (REPO_ROOT / ".ci" / "run").read_text()


def test_worked_example_builds_and_grades(tmp_path: Path):
    spec = yaml.safe_load(readme_yaml())
    comps = tmp_path / "competitions"
    comps.mkdir()
    (comps / f"{spec['slug']}.yaml").write_text(readme_yaml())
    home = tmp_path / "home"
    env = {"DOJO_COMPETITIONS_DIR": str(comps)}
    built = run_dojo("build", spec["slug"], home=home, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    shown = json.loads(run_dojo("show", spec["slug"], "--json", home=home, env=env).stdout)
    sample = Path(shown["public_dir"]) / "sample_submission.csv"
    report = json.loads(run_dojo("grade", spec["slug"], str(sample), "--json", home=home, env=env).stdout)
    assert report["valid"] and 0.0 <= report["score"] <= 1.0
