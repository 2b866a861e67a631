"""Preparers of the l-z Kaggle catalog, each run with its real config on a small fixture of the raw shape."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curation.preparers.raw_tables import RawDataError
from curation.sources import labeled_table
from curation.spec import COMPETITIONS_DIR, CompetitionSpec, load_spec
from curation.tasks import write_split_files

SALT = bytes(range(32))  # a fixed test salt; builds draw theirs from curation.secret


def spec_of(slug: str) -> CompetitionSpec:
    return load_spec(COMPETITIONS_DIR / f"{slug}.yaml")


def run(slug: str, files_dir: Path) -> pl.DataFrame:
    """Call the preparer the config names and check the contract every labeled table must meet."""
    spec = spec_of(slug)
    assert spec.preparer is not None
    module_name, function_name = spec.preparer.split(":")
    function: Callable[..., pl.DataFrame] = getattr(
        importlib.import_module(f"curation.preparers.{module_name}"), function_name
    )
    table = function(files_dir, spec, salt=SALT)
    assert isinstance(table, pl.DataFrame)
    for column in [spec.id_column, *spec.target_columns, *spec.drop_columns]:
        assert column in table.columns, f"{slug}: {column} missing from {table.columns}"
    assert table[spec.id_column].n_unique() == table.height
    for name in (spec.split.stratify_column, spec.split.group_column, spec.split.time_column):
        assert name is None or name in table.columns
    assert set(spec.split.private_columns) <= set(table.columns)
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
    assert table.sort("image").select("species", "image").rows() == [
        ("Maize", "Maize/0021e90e4.png"),
        ("Maize", "Maize/0a1b2c3d4.png"),
        ("Sugar beet", "Sugar beet/003d61042.png"),
    ]
    # The id is a keyed hash of the path: neither the raw name nor anything the folder could give away.
    assert all(len(name) == 16 and "." not in name for name in table["file"].to_list())


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


# media_files, more shapes


def test_seti_arrays_sit_under_the_first_character_of_the_id(tmp_path: Path) -> None:
    write_csv(tmp_path / "train_labels.csv", pl.DataFrame({"id": ["0004be0baf70", "a3f1c2d4e5b6"], "target": [0, 1]}))
    touch(tmp_path / "train" / "0" / "0004be0baf70.npy")
    touch(tmp_path / "train" / "a" / "a3f1c2d4e5b6.npy")
    table = run("seti-breakthrough-listen", tmp_path)
    assert table["signal"].to_list() == ["0/0004be0baf70.npy", "a/a3f1c2d4e5b6.npy"]


def test_whales_unseen_in_training_become_new_whale(tmp_path: Path) -> None:
    # 30 whales photographed once, 10 three times, and a few new_whale photos, as in Kaggle's train.csv.
    whales = [f"w_{i:07x}" for i in range(30)] + [f"w_{i:07x}" for i in range(100, 110) for _ in range(3)]
    whales += ["new_whale"] * 5
    images = [f"{i:08x}.jpg" for i in range(len(whales))]
    write_csv(tmp_path / "train.csv", pl.DataFrame({"Image": images, "Id": whales}))
    for name in images:
        touch(tmp_path / "train" / name)
    spec = spec_of("whale-categorization-playground")
    table = run("whale-categorization-playground", tmp_path)
    assert table["image_file"].to_list() == table["Image"].to_list()
    original = dict(zip(images, whales, strict=True))
    # As the build does it: the labeled table, then the task's own split writes train and the answers.
    labeled_path = tmp_path / "labeled.parquet"
    labeled_table(spec, tmp_path, SALT).write_parquet(labeled_path)
    public, private = tmp_path / "public", tmp_path / "private"
    public.mkdir()
    private.mkdir()
    write_split_files(spec, labeled_path, tmp_path, public, private, "text", salt=SALT)
    train, test = pl.read_csv(public / "train.csv"), pl.read_parquet(private / "answers.parquet")
    assert train.height + test.height == len(images)
    assert all(original[i] == w for i, w in train.select("Image", "Id").rows())
    seen = set(train["Id"].to_list()) | {"new_whale"}
    assert set(test["Id"].to_list()) <= seen  # every test answer can be given from the training labels
    relabeled = [i for i, w in test.select("Image", "Id").rows() if w != original[i]]
    assert relabeled and all(original[i] not in seen for i in relabeled)


def test_tgs_salt_images_follow_competition_data(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "competition_data" / "train.csv",
        pl.DataFrame({"id": ["575d24d81d", "a266a2a9df"], "rle_mask": [None, "5051 5151"]}),
    )
    touch(tmp_path / "competition_data" / "train" / "images" / "575d24d81d.png")
    touch(tmp_path / "competition_data" / "train" / "images" / "a266a2a9df.png")
    assert run("tgs-salt-identification-challenge", tmp_path)["image"].to_list() == ["575d24d81d.png", "a266a2a9df.png"]


def test_the_nature_conservancy_classes_come_from_folders(tmp_path: Path) -> None:
    touch(tmp_path / "train" / "ALB" / "img_00003.jpg")
    touch(tmp_path / "train" / "NoF" / "img_00008.jpg")
    table = run("the-nature-conservancy-fisheries-monitoring", tmp_path)
    assert table.sort("image_file").select("label", "image_file").rows() == [
        ("ALB", "ALB/img_00003.jpg"),
        ("NoF", "NoF/img_00008.jpg"),
    ]
    assert not any("img_" in name for name in table["image"].to_list())


# labeled_rows: quoting


def test_word2vec_reviews_with_escaped_quotes_are_read_whole(tmp_path: Path) -> None:
    (tmp_path / "labeledTrainData.tsv").write_text(
        'id\tsentiment\treview\n"5814_8"\t1\t"With all this \\"Moonwalker\\" stuff, a, b"\n'
        '"2381_9"\t0\t"The film starts, then \\"ends\\"."\n'
    )
    table = run("word2vec-nlp-tutorial", tmp_path)
    assert table.rows() == [
        ("5814_8", 1, 'With all this "Moonwalker" stuff, a, b'),
        ("2381_9", 0, 'The film starts, then "ends".'),
    ]


# json_tables


def test_pizza_keeps_only_fields_of_the_test_file(tmp_path: Path) -> None:
    train = [
        {
            "request_id": "t3_a",
            "request_title": "hi",
            "requester_subreddits_at_request": ["AskReddit", "pizza"],
            "giver_username_if_known": "bob",
            "requester_user_flair": "shroom",
            "number_of_upvotes_of_request_at_retrieval": 5,
            "requester_received_pizza": True,
        },
        {
            "request_id": "t3_b",
            "request_title": "yo",
            "requester_subreddits_at_request": [],
            "giver_username_if_known": "N/A",
            "requester_user_flair": None,
            "number_of_upvotes_of_request_at_retrieval": 1,
            "requester_received_pizza": False,
        },
    ]
    test = [
        {
            "request_id": "t3_c",
            "request_title": "x",
            "requester_subreddits_at_request": [],
            "giver_username_if_known": "N/A",
        }
    ]
    (tmp_path / "train.json").write_text(json.dumps(train))
    (tmp_path / "test.json").write_text(json.dumps(test))
    table = run("random-acts-of-pizza", tmp_path)
    assert table.columns == [
        "request_id",
        "request_title",
        "requester_subreddits_at_request",
        "giver_username_if_known",
        "requester_received_pizza",
    ]
    assert table["requester_received_pizza"].to_list() == [1, 0]
    assert json.loads(table["requester_subreddits_at_request"][0]) == ["AskReddit", "pizza"]


def test_statoil_bands_become_json_text_and_angles_stay_text_when_mixed(tmp_path: Path) -> None:
    spec = spec_of("statoil-iceberg-classifier-challenge")
    records = [
        {"id": "dfd5f913", "band_1": [-27.8, -27.8], "band_2": [-27.1, -29.6], "inc_angle": 43.9239, "is_iceberg": 0},
        {"id": "e25388fd", "band_1": [-12.2, -14.9], "band_2": [-31.5, -27.9], "inc_angle": "na", "is_iceberg": 1},
    ]
    (tmp_path / spec.labeled_file).parent.mkdir(parents=True)
    (tmp_path / spec.labeled_file).write_text(json.dumps(records))
    table = run("statoil-iceberg-classifier-challenge", tmp_path)
    assert table["inc_angle"].to_list() == ["43.9239", "na"]
    assert json.loads(table["band_1"][1]) == [-12.2, -14.9]


def test_json_records_that_are_not_objects_are_refused(tmp_path: Path) -> None:
    spec = spec_of("statoil-iceberg-classifier-challenge")
    (tmp_path / spec.labeled_file).parent.mkdir(parents=True)
    (tmp_path / spec.labeled_file).write_text("[1, 2]")
    with pytest.raises(RawDataError, match="record 0 is not a JSON object"):
        run("statoil-iceberg-classifier-challenge", tmp_path)


def test_yelp_reviews_keep_test_fields_from_json_lines(tmp_path: Path) -> None:
    train = [
        {
            "votes": {"funny": 0},
            "user_id": "u1",
            "review_id": "r1",
            "stars": 5,
            "date": "2011-01-26",
            "text": "great",
            "type": "review",
            "business_id": "b1",
        },
        {
            "votes": {"funny": 1},
            "user_id": "u2",
            "review_id": "r2",
            "stars": 2,
            "date": "2011-07-27",
            "text": "meh",
            "type": "review",
            "business_id": "b1",
        },
    ]
    test = [{"user_id": "u3", "review_id": "r9", "type": "review", "business_id": "b2"}]
    for folder, name, rows in (
        ("yelp_training_set", "yelp_training_set_review.json", train),
        ("yelp_test_set", "yelp_test_set_review.json", test),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = run("yelp-recsys-2013", tmp_path)
    assert table.columns == ["review_id", "user_id", "type", "business_id", "stars"]
    assert table["stars"].to_list() == [5, 2]


# sales_keys, text_normalization, stacked_targets


def test_rossmann_rows_are_keyed_by_store_and_day(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "train.csv",
        pl.DataFrame(
            {
                "Store": [1, 2],
                "DayOfWeek": [5, 5],
                "Date": ["2015-07-31", "2015-07-31"],
                "Sales": [5263, 0],
                "Customers": [555, 0],
                "Open": [1, 0],
            }
        ),
    )
    table = run("rossmann-store-sales", tmp_path)
    assert table["Id"].to_list() == ["1_2015-07-31", "2_2015-07-31"]
    assert table["Sales"].to_list() == [5263, 0]


def test_walmart_rows_are_keyed_as_kaggle_submission_ids(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "train.csv",
        pl.DataFrame(
            {"Store": [1], "Dept": [1], "Date": ["2010-02-05"], "Weekly_Sales": [24924.5], "IsHoliday": [False]}
        ),
    )
    assert run("walmart-recruiting-store-sales-forecasting", tmp_path)["Id"].to_list() == ["1_1_2010-02-05"]


@pytest.mark.parametrize(
    "slug,code",
    [("text-normalization-challenge-english-language", "en"), ("text-normalization-challenge-russian-language", "ru")],
)
def test_text_normalization_tokens_keep_their_spelling(tmp_path: Path, slug: str, code: str) -> None:
    write_csv(
        tmp_path / f"{code}_train.csv",
        pl.DataFrame(
            {
                "sentence_id": ["0", "0", "1"],
                "token_id": ["0", "1", "0"],
                "class": ["PLAIN", "CARDINAL", "DECIMAL"],
                "before": ["Brillantaisia", "007", "1.0"],
                "after": ["Brillantaisia", "double o seven", "one point o"],
            }
        ),
    )
    table = run(slug, tmp_path)
    assert table["id"].to_list() == ["0_0", "0_1", "1_0"]
    assert table["before"].to_list() == ["Brillantaisia", "007", "1.0"]


def test_see_click_fix_counts_are_stacked_one_row_per_count(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "train.csv",
        pl.DataFrame(
            {
                "id": [343272, 274860],
                "latitude": [41.3, 41.9],
                "longitude": [-72.9, -87.7],
                "summary": ["Pothole", "Tree"],
                "description": ["big", None],
                "num_votes": [1, 2],
                "num_comments": [0, 1],
                "num_views": [0, 5],
                "source": ["api", "web"],
                "created_time": ["2012-01-01 00:00:00", "2012-01-02 00:00:00"],
                "tag_type": ["pothole", None],
            }
        ),
    )
    table = run("see-click-predict-fix", tmp_path)
    assert table.height == 6
    counts = dict(zip(table["id_count"].to_list(), table["count"].to_list(), strict=True))
    assert counts == {
        "343272_num_views": 0,
        "343272_num_votes": 1,
        "343272_num_comments": 0,
        "274860_num_views": 5,
        "274860_num_votes": 2,
        "274860_num_comments": 1,
    }
    assert set(table["issue_id"].to_list()) == {343272, 274860}


# rna_positions


def test_openvaccine_keeps_scored_bases_of_filtered_molecules(tmp_path: Path) -> None:
    def molecule(ident: str, sn: int) -> dict:
        return {
            "index": 0,
            "id": ident,
            "sequence": "GGAAA",
            "structure": ".....",
            "predicted_loop_type": "EEEEE",
            "signal_to_noise": 6.9,
            "SN_filter": sn,
            "seq_length": 5,
            "seq_scored": 3,
            "reactivity": [0.1, 0.2, 0.3],
            "deg_Mg_pH10": [1.0, 1.1, 1.2],
            "deg_pH10": [9.0, 9.0, 9.0],
            "deg_Mg_50C": [2.0, 2.1, 2.2],
            "deg_50C": [8.0, 8.0, 8.0],
            "reactivity_error": [0.5, 0.5, 0.5],
        }

    (tmp_path / "train.json").write_text(json.dumps(molecule("id_001", 1)) + "\n" + json.dumps(molecule("id_002", 0)))
    table = run("stanford-covid-vaccine", tmp_path)
    assert table["id_seqpos"].to_list() == ["id_001_0", "id_001_1", "id_001_2"]
    assert table["deg_Mg_50C"].to_list() == [2.0, 2.1, 2.2]
    assert "deg_pH10" not in table.columns and "reactivity_error" not in table.columns


def test_openvaccine_arrays_must_match_seq_scored(tmp_path: Path) -> None:
    record = {
        "id": "id_001",
        "sequence": "GG",
        "structure": "..",
        "predicted_loop_type": "EE",
        "SN_filter": 1,
        "seq_scored": 2,
        "reactivity": [0.1],
        "deg_Mg_pH10": [1.0, 1.1],
        "deg_Mg_50C": [2.0, 2.1],
    }
    (tmp_path / "train.json").write_text(json.dumps(record))
    with pytest.raises(RawDataError, match="1 reactivity values, not 2"):
        run("stanford-covid-vaccine", tmp_path)


# audio_clips: speech commands, right whale


def test_speech_commands_map_words_and_hide_them_from_ids(tmp_path: Path) -> None:
    for word, name in [
        ("yes", "0a7c2a8d_nohash_0.wav"),
        ("bed", "0a7c2a8d_nohash_1.wav"),
        ("go", "1b4c9b89_nohash_0.wav"),
        ("_background_noise_", "white_noise.wav"),
    ]:
        touch(tmp_path / "train" / "audio" / word / name)
    table = run("tensorflow-speech-recognition-challenge", tmp_path).sort("audio")
    assert table.select("speaker", "audio", "label").rows() == [
        ("0a7c2a8d", "bed/0a7c2a8d_nohash_1.wav", "unknown"),
        ("1b4c9b89", "go/1b4c9b89_nohash_0.wav", "go"),
        ("0a7c2a8d", "yes/0a7c2a8d_nohash_0.wav", "yes"),
    ]
    assert all(word not in fname for fname in table["fname"].to_list() for word in ("yes", "bed", "go"))


def test_right_whale_labels_leave_the_id(tmp_path: Path) -> None:
    touch(tmp_path / "train2" / "20090328_000000_002s3ms_TRAIN0_0.aif")
    touch(tmp_path / "train2" / "20090331_231500_010s7ms_TRAIN7_1.aif")
    table = run("the-icml-2013-whale-challenge-right-whale-redux", tmp_path)
    assert table.rows() == [
        ("20090328_000000_002s3ms_TRAIN0.aif", "20090328_000000", "20090328_000000_002s3ms_TRAIN0_0.aif", 0),
        ("20090331_231500_010s7ms_TRAIN7.aif", "20090331_231500", "20090331_231500_010s7ms_TRAIN7_1.aif", 1),
    ]


def test_right_whale_clip_without_label_is_an_error(tmp_path: Path) -> None:
    touch(tmp_path / "train2" / "20090328_000000_002s3ms_TRAIN0.aif")
    with pytest.raises(RawDataError, match="expected <date>"):
        run("the-icml-2013-whale-challenge-right-whale-redux", tmp_path)
