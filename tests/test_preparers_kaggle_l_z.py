"""Preparers of the l-z Kaggle catalog, each run with its real config on a small fixture of the raw shape."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curation.preparers.raw_tables import RawDataError
from curation.spec import COMPETITIONS_DIR, CompetitionSpec, load_spec


def spec_of(slug: str) -> CompetitionSpec:
    return load_spec(COMPETITIONS_DIR / f"{slug}.yaml")


def run(slug: str, files_dir: Path) -> pl.DataFrame:
    """Call the preparer the config names and check the contract every labeled table must meet."""
    spec = spec_of(slug)
    assert spec.preparer is not None
    module_name, function_name = spec.preparer.split(":")
    function: Callable[[Path, CompetitionSpec], pl.DataFrame] = getattr(
        importlib.import_module(f"curation.preparers.{module_name}"), function_name
    )
    table = function(files_dir, spec)
    assert isinstance(table, pl.DataFrame)
    for column in [spec.id_column, *spec.target_columns, *spec.drop_columns]:
        assert column in table.columns, f"{slug}: {column} missing from {table.columns}"
    assert table[spec.id_column].n_unique() == table.height
    for name in (spec.split.stratify_column, spec.split.group_column, spec.split.time_column):
        assert name is None or name in table.columns
    if spec.files.media:
        for relative in table[spec.files.media.column].to_list():
            assert (files_dir / spec.files.media.raw_dir / relative).is_file(), relative
    return table


def write_csv(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00")


# media_files


@pytest.mark.parametrize(
    ("slug", "raw_dir", "ids", "suffix"),
    [
        ("leaf-classification", "images", [1, 2, 3], ".jpg"),
        ("petfinder-pawpularity-score", "train", ["0008dbfb", "0014a7b5"], ".jpg"),
        ("predict-volcanic-eruptions-ingv-oe", "train", [1136037770, 1969647810], ".csv"),
    ],
)
def test_id_named_media_files(tmp_path: Path, slug: str, raw_dir: str, ids: list, suffix: str) -> None:
    spec = spec_of(slug)
    write_csv(tmp_path / spec.labeled_file, pl.DataFrame({spec.id_column: ids, spec.target_columns[0]: [1] * len(ids)}))
    for ident in ids:
        touch(tmp_path / raw_dir / f"{ident}{suffix}")
    table = run(slug, tmp_path)
    assert table[spec.files.media.column].to_list() == [f"{i}{suffix}" for i in ids]


def test_nomad_geometry_files_sit_in_a_folder_per_id(tmp_path: Path) -> None:
    spec = spec_of("nomad2018-predict-transparent-conductors")
    write_csv(
        tmp_path / "train.csv",
        pl.DataFrame(
            {
                "id": [1, 2],
                "spacegroup": [33, 194],
                "formation_energy_ev_natom": [0.06, 0.25],
                "bandgap_energy_ev": [3.4, 2.8],
            }
        ),
    )
    for ident in (1, 2):
        touch(tmp_path / "train" / str(ident) / "geometry.xyz")
    table = run("nomad2018-predict-transparent-conductors", tmp_path)
    assert table[spec.files.media.column].to_list() == ["1/geometry.xyz", "2/geometry.xyz"]


def test_paddy_images_are_filed_under_their_label(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "train.csv",
        pl.DataFrame(
            {
                "image_id": ["100330.jpg", "100365.jpg"],
                "label": ["blast", "normal"],
                "variety": ["ADT45", "ADT45"],
                "age": [45, 60],
            }
        ),
    )
    touch(tmp_path / "train_images" / "blast" / "100330.jpg")
    touch(tmp_path / "train_images" / "normal" / "100365.jpg")
    table = run("paddy-disease-classification", tmp_path)
    assert table["image"].to_list() == ["blast/100330.jpg", "normal/100365.jpg"]


def test_class_folders_become_rows(tmp_path: Path) -> None:
    for species, name in [("Maize", "0021e90e4.png"), ("Sugar beet", "003d61042.png"), ("Maize", "0a1b2c3d4.png")]:
        touch(tmp_path / "train" / species / name)
    touch(tmp_path / "train" / "Maize" / ".DS_Store")
    table = run("plant-seedlings-classification", tmp_path)
    assert table.sort("file").rows() == [
        ("0021e90e4.png", "Maize", "Maize/0021e90e4.png"),
        ("003d61042.png", "Sugar beet", "Sugar beet/003d61042.png"),
        ("0a1b2c3d4.png", "Maize", "Maize/0a1b2c3d4.png"),
    ]


def test_class_folders_refuse_a_file_name_in_two_classes(tmp_path: Path) -> None:
    touch(tmp_path / "train" / "Maize" / "same.png")
    touch(tmp_path / "train" / "Charlock" / "same.png")
    with pytest.raises(RawDataError, match="several class folders"):
        run("plant-seedlings-classification", tmp_path)


# label_columns


def arena_frame(winners: list[tuple[int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(range(len(winners))),
            "model_a": ["gpt-4"] * len(winners),
            "model_b": ["llama"] * len(winners),
            "prompt": ['["hi"]'] * len(winners),
            "response_a": ['["a"]'] * len(winners),
            "response_b": ['["b"]'] * len(winners),
            "winner_model_a": [w[0] for w in winners],
            "winner_model_b": [w[1] for w in winners],
            "winner_tie": [w[2] for w in winners],
        }
    )


@pytest.mark.parametrize("slug", ["lmsys-chatbot-arena", "llm-classification-finetuning"])
def test_arena_one_hot_winner_becomes_one_label(tmp_path: Path, slug: str) -> None:
    write_csv(tmp_path / "train.csv", arena_frame([(1, 0, 0), (0, 1, 0), (0, 0, 1)]))
    table = run(slug, tmp_path)
    assert table["winner"].to_list() == ["winner_model_a", "winner_model_b", "winner_tie"]
    assert not {"winner_model_a", "winner_model_b", "winner_tie"} & set(table.columns)


def test_arena_rows_without_exactly_one_winner_are_refused(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", arena_frame([(1, 0, 0), (1, 1, 0)]))
    with pytest.raises(RawDataError, match=r"rows \[1\]"):
        run("lmsys-chatbot-arena", tmp_path)


def test_plant_pathology_2021_labels_become_indicator_columns(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "train.csv",
        pl.DataFrame(
            {"image": ["a.jpg", "b.jpg", "c.jpg"], "labels": ["healthy", "scab frog_eye_leaf_spot", "complex"]}
        ),
    )
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        touch(tmp_path / "train_images" / name)
    table = run("plant-pathology-2021-fgvc8", tmp_path).sort("image")
    assert "labels" not in table.columns
    assert table.select("complex", "frog_eye_leaf_spot", "healthy", "scab").rows() == [
        (0, 0, 1, 0),
        (0, 1, 0, 1),
        (1, 0, 0, 0),
    ]


def test_plant_pathology_2021_unknown_disease_is_an_error(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", pl.DataFrame({"image": ["a.jpg"], "labels": ["mosaic"]}))
    with pytest.raises(RawDataError, match="mosaic"):
        run("plant-pathology-2021-fgvc8", tmp_path)


# labeled_rows


def test_poker_rows_are_numbered(tmp_path: Path) -> None:
    cards = {f"{k}{i}": [1, 2] for i in range(1, 6) for k in ("S", "C")}
    write_csv(tmp_path / "train.csv", pl.DataFrame({**cards, "hand": [0, 1]}))
    table = run("poker-rule-induction", tmp_path)
    assert table["id"].to_list() == [0, 1]


def test_row_numbering_refuses_an_existing_id(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", pl.DataFrame({"id": [5], "hand": [0]}))
    with pytest.raises(RawDataError, match="already has a column 'id'"):
        run("poker-rule-induction", tmp_path)


def test_pubg_rows_without_placement_are_dropped(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "train_V2.csv",
        pl.DataFrame(
            {
                "Id": ["a", "b", "c"],
                "groupId": ["g1", "g2", "g3"],
                "matchId": ["m1", "m1", "m2"],
                "winPlacePerc": [1.0, 0.0, None],
            }
        ),
    )
    assert run("pubg-finish-placement-prediction", tmp_path)["Id"].to_list() == ["a", "b"]


# timit_frames


def test_timit_arrays_become_one_table(tmp_path: Path) -> None:
    spec = spec_of("ml2021spring-hw2")
    features = np.arange(3 * 429, dtype=np.float32).reshape(3, 429)
    (tmp_path / spec.labeled_file).parent.mkdir(parents=True)
    np.save(tmp_path / spec.labeled_file, features)
    np.save((tmp_path / spec.labeled_file).with_name("train_label_11.npy"), np.array(["0", "38", "5"]))
    table = run("ml2021spring-hw2", tmp_path)
    assert table.columns[:3] == ["Id", "f000", "f001"] and table.columns[-1] == "ClassId"
    assert table["ClassId"].to_list() == [0, 38, 5]
    assert table["f428"].to_list() == [428.0, 857.0, 1286.0]


def test_timit_label_count_must_match(tmp_path: Path) -> None:
    spec = spec_of("ml2021spring-hw2")
    (tmp_path / spec.labeled_file).parent.mkdir(parents=True)
    np.save(tmp_path / spec.labeled_file, np.zeros((3, 429), dtype=np.float32))
    np.save((tmp_path / spec.labeled_file).with_name("train_label_11.npy"), np.array(["0", "1"]))
    with pytest.raises(RawDataError, match="2 labels for 3 frames"):
        run("ml2021spring-hw2", tmp_path)


# novozymes


def test_novozymes_updates_discard_and_replace_rows(tmp_path: Path) -> None:
    train = pl.DataFrame(
        {
            "seq_id": [0, 1, 2],
            "protein_sequence": ["AAA", "CCC", "GGG"],
            "pH": [7.0, 45.0, 7.0],
            "data_source": ["x", "y", "z"],
            "tm": [75.7, 5.0, 50.1],
        }
    )
    updates = pl.DataFrame(
        {
            "seq_id": [1, 2],
            "protein_sequence": ["CCC", None],
            "pH": [5.0, None],
            "data_source": ["y", None],
            "tm": [45.0, None],
        }
    )
    write_csv(tmp_path / "train.csv", train)
    write_csv(tmp_path / "train_updates_20220929.csv", updates)
    table = run("novozymes-enzyme-stability-prediction", tmp_path)
    assert table.rows() == [(0, "AAA", 7.0, "x", 75.7), (1, "CCC", 5.0, "y", 45.0)]


# audio_clips


def test_mlsp_recordings_become_species_rows(tmp_path: Path) -> None:
    spec = spec_of("mlsp-2013-birds")
    essential = (tmp_path / spec.labeled_file).parent
    essential.mkdir(parents=True)
    (essential / "rec_labels_test_hidden.txt").write_text("rec_id,[labels]\n0,1,2\n1,?\n2\n")
    (essential / "rec_id2filename.txt").write_text("rec_id,filename\n0,PC1_a\n1,PC1_b\n2,PC2_c\n")
    (essential / "species_list.txt").write_text("class_id,code,species\n0,BRCR,x\n1,PAWR,y\n2,PSFL,z\n")
    table = run("mlsp-2013-birds", tmp_path)
    assert table.sort("Id").rows() == [
        (0, 0, 0, "PC1_a", 0),
        (1, 0, 1, "PC1_a", 1),
        (2, 0, 2, "PC1_a", 1),
        (200, 2, 0, "PC2_c", 0),
        (201, 2, 1, "PC2_c", 0),
        (202, 2, 2, "PC2_c", 0),
    ]


def test_mlsp_unknown_species_is_an_error(tmp_path: Path) -> None:
    spec = spec_of("mlsp-2013-birds")
    essential = (tmp_path / spec.labeled_file).parent
    essential.mkdir(parents=True)
    (essential / "rec_labels_test_hidden.txt").write_text("rec_id,[labels]\n0,7\n")
    (essential / "rec_id2filename.txt").write_text("rec_id,filename\n0,PC1_a\n")
    (essential / "species_list.txt").write_text("class_id,code,species\n0,BRCR,x\n")
    with pytest.raises(RawDataError, match=r"outside 0\.\.0"):
        run("mlsp-2013-birds", tmp_path)
