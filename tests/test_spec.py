"""The competition config model: valid files load, invalid ones name the file and field, others still load."""

from pathlib import Path

import pytest

from curation.spec import CompetitionSpec, SpecError, load_catalog, load_spec, select

VALID = """\
slug: tiny
title: Tiny
source: {kind: builtin, dataset: "sklearn:iris"}
task_type: multiclass
id_column: id
target_columns: [species]
metric: {name: accuracy}
split: {method: stratified, stratify_column: species}
description: A tiny task.
tags: [offline]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


def test_valid_spec_loads(tmp_path):
    spec = load_spec(write(tmp_path, "tiny", VALID))
    assert spec.slug == "tiny"
    assert spec.split.method == "stratified"
    assert spec.labeled_file == "data.parquet"
    assert not spec.needs_credentials


def test_content_hash_ignores_yaml_layout_but_not_content(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    reordered = "\n".join(reversed(VALID.strip().splitlines())) + "\n"
    original = load_spec(write(tmp_path / "a", "tiny", VALID))
    assert original.content_hash() == load_spec(write(tmp_path / "b", "tiny", reordered)).content_hash()
    changed = load_spec(write(tmp_path / "b", "tiny", VALID.replace("A tiny task.", "Another task.")))
    assert original.content_hash() != changed.content_hash()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("task_type: multiclass", "task_type: clustering"), "task_type"),
        (("split: {method: stratified, stratify_column: species}", "split: {method: stratified}"), "split"),
        (
            ("split: {method: stratified, stratify_column: species}", "split: {test_fraction: 1.5}"),
            "split.test_fraction",
        ),
        (('dataset: "sklearn:iris"', 'dataset: "nowhere:iris"'), "source.builtin.dataset"),
        (("target_columns: [species]", "target_columns: []"), "target_columns"),
        (("tags: [offline]", "tags: [offline]\ncolour: blue"), "colour"),
        (("id_column: id", "id_column: species"), ""),
    ],
)
def test_invalid_spec_names_file_and_field(tmp_path, change, field):
    path = write(tmp_path, "tiny", VALID.replace(*change))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert raised.value.path == path
    assert raised.value.field == field
    assert str(path) in str(raised.value)


def test_slug_must_match_file_name(tmp_path):
    with pytest.raises(SpecError, match="differs from the file name"):
        load_spec(write(tmp_path, "other-name", VALID))


def test_unreadable_yaml_is_reported(tmp_path):
    with pytest.raises(SpecError, match="cannot read YAML"):
        load_spec(write(tmp_path, "tiny", "slug: [unclosed"))


def test_catalog_keeps_good_files_when_one_is_bad(tmp_path):
    write(tmp_path, "tiny", VALID)
    write(tmp_path, "broken", VALID.replace("slug: tiny", "slug: broken").replace("metric: {name: accuracy}", ""))
    catalog = load_catalog(tmp_path)
    assert list(catalog.specs) == ["tiny"]
    assert [(e.path.stem, e.field) for e in catalog.errors] == [("broken", "metric")]


def test_select_by_tag_and_source(tmp_path):
    spec = load_spec(write(tmp_path, "tiny", VALID))
    other = CompetitionSpec.model_validate(
        spec.model_dump(by_alias=True) | {"slug": "k", "source": {"kind": "kaggle"}, "tags": ["kaggle"]}
    )
    assert select([spec, other], tag="offline") == ["tiny"]
    assert select([spec, other], source="kaggle") == ["k"]


def test_packaged_catalog_validates():
    catalog = load_catalog()
    assert not catalog.errors, "\n".join(str(e) for e in catalog.errors)
    assert len(catalog.specs) >= 21


def test_private_split_columns_load_and_may_not_be_the_id_or_a_target(tmp_path):
    grouped = "split: {method: group, group_column: speaker, private_columns: [speaker]}"
    spec = load_spec(
        write(tmp_path, "tiny", VALID.replace("split: {method: stratified, stratify_column: species}", grouped))
    )
    assert spec.split.private_columns == ["speaker"]
    for name in ("id", "species"):
        bad = VALID.replace("stratify_column: species}", f"stratify_column: species, private_columns: [{name}]}}")
        with pytest.raises(SpecError, match="private_columns") as error:
            load_spec(write(tmp_path, "tiny", bad))
        assert str(tmp_path / "tiny.yaml") in str(error.value)
