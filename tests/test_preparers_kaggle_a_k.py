"""Preparers of the a-k Kaggle catalog, each run with its real config on a small fixture of the raw shape."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from curation.preparers.billion_word import remove_one_word
from curation.preparers.content_ids import content_ids
from curation.sources import labeled_table
from curation.spec import COMPETITIONS_DIR, CompetitionSpec, load_spec

SALT = bytes(range(32))  # a fixed test salt; builds draw theirs from curation.secret


def spec_of(slug: str) -> CompetitionSpec:
    return load_spec(COMPETITIONS_DIR / f"{slug}.yaml")


def run(slug: str, files_dir: Path) -> pl.DataFrame:
    """The labeled table as the build makes it (preparer, drop_columns, checks), plus media files present."""
    spec = spec_of(slug)
    assert spec.preparer is not None, f"{slug} names no preparer"
    table = labeled_table(spec, files_dir, SALT)
    assert table[spec.id_column].n_unique() == table.height
    assert not set(spec.drop_columns) & set(table.columns)
    if spec.files.media:
        for relative in table[spec.files.media.column].to_list():
            assert (files_dir / spec.files.media.raw_dir / relative).is_file(), relative
    for extra in spec.files.extra:
        assert (files_dir / extra).exists(), f"{slug}: extra {extra} missing from the fixture"
    return table


def write_csv(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)


def write_bytes(path: Path, data: bytes = b"\x00") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_png(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values.astype(np.uint8)).save(path)


# unnamed_index, boolean_targets, text_ids


def test_unnamed_first_column_becomes_the_id(tmp_path: Path) -> None:
    (tmp_path / "cs-training.csv").write_text(",SeriousDlqin2yrs,age\n1,0,45\n2,1,40\n")
    write_bytes(tmp_path / "Data Dictionary.xls")
    table = run("GiveMeSomeCredit", tmp_path)
    assert table.columns[0] == "Id"
    assert table["Id"].to_list() == [1, 2]


def test_named_first_column_is_not_taken_for_an_index(tmp_path: Path) -> None:
    (tmp_path / "cs-training.csv").write_text("Id,SeriousDlqin2yrs\n1,0\n")
    with pytest.raises(ValueError, match="not an unnamed index"):
        run("GiveMeSomeCredit", tmp_path)


def test_true_false_words_become_flags_and_the_leaky_count_goes(tmp_path: Path) -> None:
    history = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "chain": [4, 4, 5],
            "offer": [9, 9, 8],
            "market": [1, 1, 2],
            "repeattrips": [2, 0, 1],
            "repeater": ["t", "f", "T"],
            "offerdate": ["2013-03-01", "2013-04-01", "2013-04-20"],
        }
    )
    write_csv(tmp_path / "trainHistory.csv", history)
    for name in ("offers.csv", "transactions.csv"):
        write_bytes(tmp_path / name)
    table = run("acquire-valued-shoppers-challenge", tmp_path)
    assert table["repeater"].to_list() == [1, 0, 1]
    assert "repeattrips" not in table.columns


def test_unknown_flag_word_is_an_error(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [1], "repeattrips": [0], "repeater": ["maybe"], "offerdate": ["2013-01-01"]})
    write_csv(tmp_path / "trainHistory.csv", frame)
    with pytest.raises(ValueError, match="non-t/f values"):
        run("acquire-valued-shoppers-challenge", tmp_path)


def test_ids_past_int64_stay_exact_text(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text(
        "id,click,hour\n18446744073709551615,1,14102100\n1000009418151094273,0,14102100\n"
    )
    table = run("avazu-ctr-prediction", tmp_path)
    # labeled_table stores rows in canonical (id) order, so compare as sets.
    assert set(table["id"].to_list()) == {"18446744073709551615", "1000009418151094273"}


# content_ids


def test_content_ids_ignore_row_order_and_number_repeats() -> None:
    table = pl.DataFrame({"a": [1, 1, 2, 3], "b": ["x", "x", None, "y"]})
    ids = content_ids(table, "id", SALT)
    shuffled = content_ids(table[[3, 1, 2, 0]], "id", SALT)
    assert sorted(ids.to_list()) == sorted(shuffled.to_list())
    # A repeat's id is opaque: "<digest>-2" would tell that the two rows (labels included) are equal.
    assert ids[1] != ids[0] and ids[0] not in ids[1]
    assert ids.str.len_chars().to_list() == [16] * 4
    assert ids.n_unique() == 4
    assert not any(ids.str.contains("x").to_list())


def test_content_ids_refuse_an_existing_column() -> None:
    with pytest.raises(ValueError, match="already has a column"):
        content_ids(pl.DataFrame({"id": [1]}), "id", SALT)


@pytest.mark.parametrize(
    ("slug", "raw"),
    [
        ("amazon-employee-access-challenge", pl.DataFrame({"ACTION": [1, 0, 1], "RESOURCE": [39353, 17183, 39353]})),
        (
            "demand-forecasting-kernels-only",
            pl.DataFrame({"date": ["2013-01-01"] * 2, "store": [1, 1], "item": [1, 2], "sales": [13, 33]}),
        ),
        ("bioresponse", pl.DataFrame({"Activity": [1, 0], "D1": [0.0, 0.366667], "D2": [0.497009, 0.606291]})),
    ],
)
def test_id_less_tables_get_content_ids(tmp_path: Path, slug: str, raw: pl.DataFrame) -> None:
    write_csv(tmp_path / "train.csv", raw)
    spec = spec_of(slug)
    table = run(slug, tmp_path)
    assert table.columns[0] == spec.id_column
    assert table.height == raw.height


def test_grupo_bimbo_drops_the_sales_that_define_demand(tmp_path: Path) -> None:
    raw = pl.DataFrame(
        {
            "Semana": [3, 3, 9],
            "Agencia_ID": [1110, 1110, 1111],
            "Canal_ID": [7, 7, 1],
            "Ruta_SAK": [3301, 3301, 3302],
            "Cliente_ID": [15766, 15766, 16000],
            "Producto_ID": [1212, 1216, 1212],
            "Venta_uni_hoy": [3, 4, 1],
            "Venta_hoy": [25.14, 33.52, 8.38],
            "Dev_uni_proxima": [0, 0, 0],
            "Dev_proxima": [0.0, 0.0, 0.0],
            "Demanda_uni_equil": [3, 4, 1],
        }
    )
    write_csv(tmp_path / "train.csv", raw)
    for name in spec_of("grupo-bimbo-inventory-demand").files.extra:
        write_bytes(tmp_path / name)
    table = run("grupo-bimbo-inventory-demand", tmp_path)
    assert set(table.columns) == {
        "id",
        "Semana",
        "Agencia_ID",
        "Canal_ID",
        "Ruta_SAK",
        "Cliente_ID",
        "Producto_ID",
        "Demanda_uni_equil",
    }


# long_targets


GEOTAB_MAP = {
    "TotalTimeStopped_p20": 0,
    "TotalTimeStopped_p50": 1,
    "TotalTimeStopped_p80": 2,
    "DistanceToFirstStop_p20": 3,
    "DistanceToFirstStop_p50": 4,
    "DistanceToFirstStop_p80": 5,
}


def test_geotab_outputs_become_one_row_each(tmp_path: Path) -> None:
    outputs = {
        f"{name}_p{p}": [float(i + p) for i in range(2)]
        for name in ("TotalTimeStopped", "TimeFromFirstStop", "DistanceToFirstStop")
        for p in (20, 40, 50, 60, 80)
    }
    raw = pl.DataFrame({"RowId": [1920335, 1920336], "IntersectionId": [0, 0], "City": ["Atlanta", "Boston"]} | outputs)
    write_csv(tmp_path / "train.csv", raw)
    (tmp_path / "submission_metric_map.json").write_text(json.dumps(GEOTAB_MAP))
    table = run("bigquery-geotab-intersection-congestion", tmp_path)
    assert table.height == 12
    assert table.filter(pl.col("TargetId") == "1920336_4")["Target"].item() == outputs["DistanceToFirstStop_p50"][1]
    assert not [c for c in table.columns if c.startswith(("TotalTime", "TimeFrom", "DistanceTo"))]


def test_geotab_needs_the_metric_map(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", pl.DataFrame({"RowId": [1]}))
    with pytest.raises(ValueError, match=r"submission_metric_map\.json"):
        run("bigquery-geotab-intersection-congestion", tmp_path)


def test_crowdflower_labels_become_one_row_each(tmp_path: Path) -> None:
    labels = [f"s{i}" for i in range(1, 6)] + [f"w{i}" for i in range(1, 5)] + [f"k{i}" for i in range(1, 16)]
    raw = pl.DataFrame({"id": [4, 5], "tweet": ["hot!", "rain"], "state": ["oklahoma", "texas"], "location": ["", ""]})
    raw = raw.with_columns([pl.Series(label, [0.0, 0.5]) for label in labels])
    write_csv(tmp_path / "train.csv", raw)
    write_bytes(tmp_path / "variableNames.txt")
    table = run("crowdflower-weather-twitter", tmp_path)
    assert table.height == 48
    assert table.filter(pl.col("id") == "5_k15")["confidence"].item() == 0.5
    assert table.filter(pl.col("tweet_id") == 4)["confidence"].sum() == 0.0


# id_media


@pytest.mark.parametrize(
    ("slug", "labels", "files"),
    [
        ("aerial-cactus-identification", {"id": ["a1.jpg", "b2.jpg"], "has_cactus": [1, 0]}, ["a1.jpg", "b2.jpg"]),
        ("aptos2019-blindness-detection", {"id_code": ["000c", "001f"], "diagnosis": [2, 4]}, ["000c.png", "001f.png"]),
        ("histopathologic-cancer-detection", {"id": ["f38a", "c18f"], "label": [0, 1]}, ["f38a.tif", "c18f.tif"]),
        (
            "dog-breed-identification",
            {"id": ["000b", "001c"], "breed": ["boston_bull", "dingo"]},
            ["000b.jpg", "001c.jpg"],
        ),
        ("invasive-species-monitoring", {"name": [1, 2], "invasive": [0, 1]}, ["1.jpg", "2.jpg"]),
        (
            "bms-molecular-translation",
            {"image_id": ["000011a64c74", "abc0"], "InChI": ["InChI=1S/H2O/h1H2"] * 2},
            ["0/0/0/000011a64c74.png", "a/b/c/abc0.png"],
        ),
    ],
)
def test_media_paths_from_ids(tmp_path: Path, slug: str, labels: dict, files: list[str]) -> None:
    spec = spec_of(slug)
    assert spec.files.media is not None
    write_csv(tmp_path / spec.labeled_file, pl.DataFrame(labels))
    for name in files:
        write_bytes(tmp_path / spec.files.media.raw_dir / name)
    for extra in spec.files.extra:
        write_bytes(tmp_path / extra)
    table = run(slug, tmp_path)
    # Rows come back in canonical (id) order: compare each id's file.
    got = dict(zip(table[spec.id_column].to_list(), table[spec.files.media.column].to_list(), strict=True))
    assert got == dict(zip(labels[spec.id_column], files, strict=True))


def test_missing_media_file_is_an_error(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", pl.DataFrame({"id_code": ["000c", "001f"], "diagnosis": [2, 4]}))
    write_bytes(tmp_path / "train_images" / "000c.png")
    with pytest.raises(ValueError, match="1 of 2 media files are missing"):
        run("aptos2019-blindness-detection", tmp_path)


# billion_word


def test_sentences_lose_one_inner_word(tmp_path: Path) -> None:
    sentences = [
        'The " Pentagon " said on Monday .',
        "Short one",
        "Three word sentence",
        "The " + " ".join(["word"] * 20) + " .",
    ]
    (tmp_path / "train_v2.txt").write_text("\n".join(sentences) + "\n")
    table = run("billion-word-imputation", tmp_path)
    assert table.height == 3
    for row in table.iter_rows(named=True):
        original, corrupted = row["sentence"].split(), row["corrupted"].split()
        assert len(corrupted) == len(original) - 1
        assert corrupted[0] == original[0] and corrupted[-1] == original[-1]
        assert any(corrupted == original[:i] + original[i + 1 :] for i in range(1, len(original) - 1))
    again = run("billion-word-imputation", tmp_path)
    assert again.equals(table)


def test_a_two_word_sentence_has_no_inner_word() -> None:
    with pytest.raises(ValueError, match="at least 3 words"):
        remove_one_word("Hello .", "key", SALT)


# document_pixels


def test_clean_images_become_pixel_rows(tmp_path: Path) -> None:
    clean = np.array([[255, 0, 51], [102, 153, 204]])
    write_png(tmp_path / "train_cleaned" / "101.png", clean)
    write_png(tmp_path / "train" / "101.png", np.full((2, 3), 17))
    write_png(tmp_path / "train_cleaned" / "2.png", np.zeros((1, 1)))
    write_png(tmp_path / "train" / "2.png", np.zeros((1, 1)))
    table = run("denoising-dirty-documents", tmp_path)
    assert table.height == 7
    assert table.filter(pl.col("id") == "101_2_3")["value"].item() == pytest.approx(0.8)
    assert table.filter(pl.col("id") == "101_1_1")["value"].item() == 1.0
    assert set(table["image"].to_list()) == {"101.png", "2.png"}


def test_clean_image_without_a_noisy_twin_is_an_error(tmp_path: Path) -> None:
    write_png(tmp_path / "train_cleaned" / "3.png", np.zeros((1, 1)))
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match="without a noisy twin"):
        run("denoising-dirty-documents", tmp_path)


# detecting_insults


def test_insults_pool_train_and_solutions(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "train.csv",
        pl.DataFrame(
            {"Insult": [1, 0], "Date": ["20120618192155Z", None], "Comment": ['"You fuck your dad."', '"ok"']}
        ),
    )
    write_csv(
        tmp_path / "test_with_solutions.csv",
        pl.DataFrame({"Insult": [0], "Date": ["20120603163526Z"], "Comment": ['"thanks"'], "Usage": ["PublicTest"]}),
    )
    table = run("detecting-insults-in-social-commentary", tmp_path)
    assert table.columns == ["id", "Insult", "Date", "Comment"]
    assert table["Insult"].to_list() == [1, 0, 0]


# dogs_vs_cats


def test_dog_and_cat_labels_come_from_file_names(tmp_path: Path) -> None:
    for name, content in (("cat.0.jpg", b"meow"), ("dog.0.jpg", b"woof"), ("dog.1.jpg", b"bark")):
        write_bytes(tmp_path / "train" / name, content)
    table = run("dogs-vs-cats-redux-kernels-edition", tmp_path).sort("image")
    assert table["label"].to_list() == [0, 1, 1]
    assert table["id"][0] == hashlib.sha256(b"meow").hexdigest()[:16]
    assert not any(("cat" in i or "dog" in i) for i in table["id"].to_list())


def test_unlabeled_file_name_is_an_error(tmp_path: Path) -> None:
    write_bytes(tmp_path / "train" / "bird.0.jpg")
    with pytest.raises(ValueError, match=r"must start with cat\. or dog\."):
        run("dogs-vs-cats-redux-kernels-edition", tmp_path)


# json_records, latin1_tables


def test_json_records_keep_nested_embeddings_as_json(tmp_path: Path) -> None:
    records = [
        {
            "audio_embedding": [[1, 2], [3, 4]],
            "end_time_seconds_youtube_clip": 40,
            "is_turkey": 1,
            "start_time_seconds_youtube_clip": 30,
            "vid_id": "kDCk3hLIVXo",
        },
        {
            "audio_embedding": [[5, 6]],
            "end_time_seconds_youtube_clip": 10,
            "is_turkey": 0,
            "start_time_seconds_youtube_clip": 0,
            "vid_id": "DPcGzqHoo7Y",
        },
    ]
    (tmp_path / "train.json").write_text(json.dumps(records))
    table = run("dont-call-me-turkey", tmp_path)
    first = table.filter(pl.col("vid_id") == "kDCk3hLIVXo")  # rows come back in canonical (id) order
    assert json.loads(first["audio_embedding"][0]) == [[1, 2], [3, 4]]
    assert first["is_turkey"].to_list() == [1]
    assert sorted(table["is_turkey"].to_list()) == [0, 1]


def test_latin1_csv_is_decoded(tmp_path: Path) -> None:
    text = "id,product_uid,product_title,search_term,relevance\n2,100001,Simpson 90\xb0 angle,angle bracket,3.0\n"
    (tmp_path / "train.csv").write_bytes(text.encode("latin-1"))
    for name in spec_of("home-depot-product-search-relevance").files.extra:
        write_bytes(tmp_path / name)
    table = run("home-depot-product-search-relevance", tmp_path)
    assert table["product_title"].item() == "Simpson 90\u00b0 angle"


# wheat_boxes


def test_wheat_boxes_are_joined_per_image_and_empty_images_kept(tmp_path: Path) -> None:
    boxes = pl.DataFrame(
        {
            "image_id": ["b6ab77fd7", "b6ab77fd7", "7b72ea0fb"],
            "width": [1024] * 3,
            "height": [1024] * 3,
            "bbox": ["[834.0, 222.0, 56.0, 36.0]", "[226, 548, 130, 58]", "[377.0, 504.0, 74.0, 160.0]"],
            "source": ["usask_1", "usask_1", "arvalis_1"],
        }
    )
    write_csv(tmp_path / "train.csv", boxes)
    for stem in ("b6ab77fd7", "7b72ea0fb", "0a0b0c0d0"):
        write_bytes(tmp_path / "train" / f"{stem}.jpg")
    table = run("global-wheat-detection", tmp_path)
    rows = dict(zip(table["image_id"].to_list(), table["PredictionString"].to_list(), strict=True))
    assert rows == {
        "0a0b0c0d0": "",
        "7b72ea0fb": "377.0 504.0 74.0 160.0",
        "b6ab77fd7": "834.0 222.0 56.0 36.0 226.0 548.0 130.0 58.0",
    }
    assert set(table.columns) == {"image_id", "PredictionString", "image"}


def test_wheat_box_of_a_missing_image_is_an_error(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", pl.DataFrame({"image_id": ["gone"], "bbox": ["[1, 2, 3, 4]"]}))
    write_bytes(tmp_path / "train" / "other.jpg")
    with pytest.raises(ValueError, match="missing from"):
        run("global-wheat-detection", tmp_path)


# coco_annotations


def write_coco(path: Path, images: list[dict], annotations: list[dict], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps({"images": images, "annotations": annotations}, ensure_ascii=False).encode(encoding))


@pytest.mark.parametrize(
    ("slug", "media_root", "encoding"),
    [
        ("herbarium-2020-fgvc7", "nybg2020/train", "latin-1"),
        ("herbarium-2021-fgvc8", "train", "utf-8"),
        ("herbarium-2022-fgvc9", "train_images", "utf-8"),
        ("inaturalist-2019-fgvc6", ".", "utf-8"),
    ],
)
def test_coco_labels_with_path_hashed_ids(tmp_path: Path, slug: str, media_root: str, encoding: str) -> None:
    spec = spec_of(slug)
    paths = ["images/156/72/354106.jpg", "images/000/00/1.jpg", "images/156/72/9.jpg"]
    images = [{"id": i, "file_name": p, "height": 1000, "width": 700, "note": "Ã©"} for i, p in enumerate(paths)]
    annotations = [{"id": 7, "image_id": 0, "category_id": 15672}, {"id": 8, "image_id": 1, "category_id": 0}]
    write_coco(tmp_path / spec.labeled_file, images, annotations, encoding)
    for p in paths:
        write_bytes(tmp_path / media_root / p)
    table = run(slug, tmp_path)
    assert table.height == 2  # the unannotated image is not a labeled row
    # Rows are stored in id order, and the ids are keyed hashes: compare (path, label) pairs.
    assert set(table.select("image", "category_id").rows()) == {(paths[0], 15672), (paths[1], 0)}
    assert all(len(i) == 16 and "156" not in i for i in table["id"].to_list())
    assert {"height", "width"} <= set(table.columns)


def test_coco_image_with_two_labels_is_an_error(tmp_path: Path) -> None:
    spec = spec_of("herbarium-2021-fgvc8")
    write_coco(
        tmp_path / spec.labeled_file,
        [{"id": 1, "file_name": "a.jpg"}],
        [{"image_id": 1, "category_id": 2}, {"image_id": 1, "category_id": 3}],
    )
    write_bytes(tmp_path / "train" / "a.jpg")
    with pytest.raises(ValueError, match="more than one label"):
        run("herbarium-2021-fgvc8", tmp_path)


def test_iwildcam_2020_keeps_its_uuid_ids_and_camera_fields(tmp_path: Path) -> None:
    images = [
        {
            "id": "8b31d3be-21bc-11ea-a13a-137349068a90",
            "file_name": "8b31d3be-21bc-11ea-a13a-137349068a90.jpg",
            "location": 267,
            "seq_id": "30048d32",
            "seq_num_frames": 1,
            "frame_num": 0,
            "datetime": "2013-06-05 05:44:19.000",
            "width": 2048,
            "height": 1536,
        },
    ]
    annotations = [{"id": "a1", "image_id": images[0]["id"], "category_id": 2}]
    write_coco(tmp_path / "iwildcam2020_train_annotations.json", images, annotations)
    write_bytes(tmp_path / "train" / images[0]["file_name"])
    write_bytes(tmp_path / "iwildcam2020_megadetector_results.json")
    table = run("iwildcam-2020-fgvc7", tmp_path)
    assert table["id"].to_list() == [images[0]["id"]]
    assert table["location"].to_list() == [267]


def test_imaterialist_rows_carry_urls_and_labels(tmp_path: Path) -> None:
    (tmp_path / "train.json").write_text(
        json.dumps(
            {
                "images": [{"image_id": 1, "url": ["https://a/1.jpg"]}, {"image_id": 2, "url": ["https://b/2.jpg"]}],
                "annotations": [{"image_id": 1, "label_id": 5}, {"image_id": 2, "label_id": 128}],
            }
        )
    )
    table = run("imaterialist-challenge-furniture-2018", tmp_path)
    assert sorted(table["label_id"].to_list()) == [5, 128]  # rows come back in canonical (id) order
    assert json.loads(table.filter(pl.col("label_id") == 128)["url"][0]) == ["https://b/2.jpg"]


# facial_keypoints


def test_faces_become_pngs_and_present_keypoints_rows(tmp_path: Path) -> None:
    keypoints = {"left_eye_center_x": [66.03, 64.33], "left_eye_center_y": [39.0, None], "nose_tip_x": [None, 48.2]}
    pixels = [" ".join(["238"] * 9216), " ".join(str(i % 256) for i in range(9216))]
    write_csv(tmp_path / "training.csv", pl.DataFrame(keypoints | {"Image": pixels}))
    table = run("facial-keypoints-detection", tmp_path)
    assert table.height == 4
    faces = sorted((tmp_path / "faces").glob("*.png"))
    assert len(faces) == 2
    with Image.open(faces[0]) as face:
        assert face.size == (96, 96)
    second = table.filter(pl.col("FeatureName") == "nose_tip_x")
    assert second["Location"].item() == 48.2
    assert second["RowId"].item() == f"{second['ImageId'].item()}_nose_tip_x"


def test_face_with_wrong_pixel_count_is_an_error(tmp_path: Path) -> None:
    write_csv(tmp_path / "training.csv", pl.DataFrame({"nose_tip_x": [1.0], "Image": ["1 2 3"]}))
    with pytest.raises(ValueError, match="9216 values"):
        run("facial-keypoints-detection", tmp_path)


# hms_eegs


def hms_rows(eeg_ids: list[int], sub_ids: list[int]) -> pl.DataFrame:
    n = len(eeg_ids)
    votes = {name: [1] * n for name in ("seizure_vote", "lpd_vote", "gpd_vote", "lrda_vote", "grda_vote", "other_vote")}
    return pl.DataFrame(
        {
            "eeg_id": eeg_ids,
            "eeg_sub_id": sub_ids,
            "eeg_label_offset_seconds": [float(s * 2) for s in sub_ids],
            "spectrogram_id": [353733] * n,
            "spectrogram_sub_id": sub_ids,
            "spectrogram_label_offset_seconds": [0.0] * n,
            "label_id": list(range(n)),
            "patient_id": [42516] * n,
            "expert_consensus": ["Seizure"] * n,
        }
        | votes
    )


def test_hms_keeps_the_first_window_of_each_recording(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", hms_rows([568657, 568657, 582999], [0, 1, 0]))
    for eeg in (568657, 582999):
        write_bytes(tmp_path / "train_eegs" / f"{eeg}.parquet")
    (tmp_path / "train_spectrograms").mkdir()
    table = run("hms-harmful-brain-activity-classification", tmp_path)
    assert table["eeg_id"].to_list() == [568657, 582999]
    assert table["eeg"].to_list() == ["568657.parquet", "582999.parquet"]
    assert "expert_consensus" not in table.columns


def test_hms_recording_without_a_first_window_is_an_error(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", hms_rows([1, 2], [0, 3]))
    with pytest.raises(ValueError, match="no window with eeg_sub_id 0"):
        run("hms-harmful-brain-activity-classification", tmp_path)


# hotel_images, integer_sequence


def test_hotel_paths_use_the_chain_which_then_goes(tmp_path: Path) -> None:
    raw = pl.DataFrame(
        {
            "image": ["000ff4e6.jpg", "ce27d36c9147cc19.jpg", "0a1b.jpg"],
            "chain": [0, 3, 5],
            "hotel_id": [47160, 1, 2],
            "timestamp": ["2018-07-14 02:33:35"] * 3,
        }
    )
    write_csv(tmp_path / "train.csv", raw)
    write_bytes(tmp_path / "train_images" / "0" / "000ff4e6.jpg")
    write_bytes(tmp_path / "train_images" / "5" / "0a1b.jpg")
    table = run("hotel-id-2021-fgvc8", tmp_path)
    assert table["path"].to_list() == ["0/000ff4e6.jpg", "5/0a1b.jpg"]
    assert table.columns == ["image", "hotel_id", "path"]


def test_sequences_split_into_prefix_and_last_term(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text(
        'Id,Sequence\n3,"1,3,13,87,1053"\n7,"5"\n9,"-1,123456789012345678901234567890"\n'
    )
    table = run("integer-sequence-learning", tmp_path)
    assert table.rows() == [(3, "1,3,13,87", "1053"), (9, "-1", "123456789012345678901234567890")]


def test_sequence_with_a_non_integer_term_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text('Id,Sequence\n1,"1,2,x"\n')
    with pytest.raises(ValueError, match="non-integer terms"):
        run("integer-sequence-learning", tmp_path)
