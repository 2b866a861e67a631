"""Attacks on ids, file names and splits: with the public files and this repository, recover the answers.

Each attack recomputes what the code used to compute from public data alone (a permutation seeded by the
slug, an unkeyed hash of the labeled cells, of a clip path, of an image path, of a row id; the split hash
under the public seed, the synthetic generator's public seed) and checks that it now recovers nothing.
Where ids minted the old way can be rebuilt here, the attack first runs against them, so it is shown to
work: a test that could not find a leak would prove nothing.
The salt tests check how the secret is stored and that it, and only it, decides the ids.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curation import secret
from curation.builtin_datasets import load_builtin
from curation.layout import Home
from curation.preparers.audio_clips import SPEECH_COMMANDS
from curation.sources import fetch_raw, labeled_table, write_table
from curation.spec import COMPETITIONS_DIR, CompetitionSpec, SplitSpec, load_spec
from curation.splits import BOARD, SIDE, assign_split
from curation.synthetic import generate
from curation.tasks import write_split_files

# The build's secret, which the attacker never sees; fixed so the statistical bounds below are deterministic.
SALT = hashlib.sha256(b"tests/security/test_opaque_ids.py").digest()
GUESSED_SALTS = [b"", bytes(32), b"mle-dojo"]  # what an attacker might try instead


def spec_of(slug: str) -> CompetitionSpec:
    """The packaged spec of `slug`."""
    return load_spec(COMPETITIONS_DIR / f"{slug}.yaml")


def blake_hex(text: str) -> str:
    """The unkeyed 16-hex-digit blake2b the old preparers used for ids."""
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def candidate_hashes(text: str, purpose: str) -> set[str]:
    """Every hash an attacker without the salt can compute for `text`: unkeyed, and the repo's under guesses."""
    return {blake_hex(text)} | {secret.keyed_hex(guess, purpose, text) for guess in GUESSED_SALTS}


# Package datasets: ids were a permutation seeded by the slug.


def slug_seeded_ids(rows: int, slug: str) -> np.ndarray:
    """The old row_ids.shuffled_ids: anyone can recompute it from the slug."""
    seed = int.from_bytes(hashlib.sha256(slug.encode()).digest()[:8], "big")
    return np.random.default_rng(seed).permutation(rows).astype(np.int64) + 1


def guess_from_ids(ids: list[int], package_targets: list, slug: str) -> list:
    """Invert the slug-seeded permutation: id -> row of the (public) package table -> its label."""
    position = {int(row_id): i for i, row_id in enumerate(slug_seeded_ids(len(package_targets), slug))}
    return [package_targets[position[row_id]] if row_id in position else None for row_id in ids]


@pytest.mark.parametrize("slug", ["wine-cultivar", "email-spam"])
def test_package_ids_do_not_map_back_to_the_package_table(tmp_path: Path, slug: str) -> None:
    spec = spec_of(slug)
    package = load_builtin(spec.source.dataset)
    (target,) = spec.target_columns
    package = package.filter(pl.col(target).is_not_null())
    truth = package[target].to_list()
    shares = package[target].value_counts()["count"].to_numpy() / package.height
    # The attack works on ids minted the old way: every label comes back from the id alone.
    assert guess_from_ids(slug_seeded_ids(len(truth), slug).tolist(), truth, slug) == truth

    files_dir = tmp_path / "files"
    files_dir.mkdir()
    write_table(load_builtin(spec.source.dataset), files_dir / spec.labeled_file)
    table = labeled_table(spec, files_dir, SALT)
    guesses = guess_from_ids(table[spec.id_column].to_list(), truth, slug)
    hits = sum(g == t for g, t in zip(guesses, table[target].to_list(), strict=True)) / table.height
    # Ids unrelated to labels agree with them as often as two independent draws: sum of squared shares.
    chance = float((shares**2).sum())
    assert hits < chance + 4 * math.sqrt(chance * (1 - chance) / table.height) + 0.02, (hits, chance)


# Content ids: a hash over every cell, the target included.


def old_content_id(cells: list[object]) -> str:
    """The old content_ids digest: unkeyed blake2b over the cells joined by the unit separator."""
    return blake_hex("\x1f".join("\x00" if c is None else str(c) for c in cells))


def recover_labels(public: pl.DataFrame, id_column: str, target: str, column_order: list[str], labels: list) -> list:
    """For each public row, the label whose (cells + label) hash equals its id, else None."""
    recovered = []
    for row in public.iter_rows(named=True):
        match = None
        for label in labels:
            cells = [label if c == target else row[c] for c in column_order]
            text = "\x1f".join("\x00" if c is None else str(c) for c in cells)
            if row[id_column] in candidate_hashes(text, "content-id"):
                match = label
        recovered.append(match)
    return recovered


def amazon_like(rows: int) -> pl.DataFrame:
    """Rows shaped like Amazon Employee Access (a 0/1 target and two categorical codes), no id."""
    rng = np.random.default_rng(5)
    return pl.DataFrame(
        {
            "ACTION": rng.integers(0, 2, rows),
            "RESOURCE": rng.integers(0, 40, rows),
            "MGR_ID": rng.integers(0, 9, rows),
        }
    )


def test_content_ids_do_not_reveal_the_target(tmp_path: Path) -> None:
    spec = spec_of("amazon-employee-access-challenge")
    raw = amazon_like(300)
    order = raw.columns
    # The attack on old-style ids recovers every label.
    old = raw.with_columns(pl.Series("id", [old_content_id(list(r)) for r in raw.iter_rows()]))
    assert recover_labels(old.drop("ACTION"), "id", "ACTION", order, [0, 1]) == raw["ACTION"].to_list()

    raw.write_csv(tmp_path / "train.csv")
    table = labeled_table(spec, tmp_path, SALT)
    public = table.drop("ACTION")
    assert recover_labels(public, spec.id_column, "ACTION", order, [0, 1]) == [None] * table.height


def test_repeated_rows_do_not_share_a_visible_digest(tmp_path: Path) -> None:
    spec = spec_of("amazon-employee-access-challenge")
    # Many exact repeats: "<digest>-2" would tell that a test row equals a training row, label included.
    raw = pl.DataFrame({"ACTION": [1, 1, 1, 0, 0], "RESOURCE": [7, 7, 7, 8, 8], "MGR_ID": [1, 1, 1, 2, 2]})
    raw.write_csv(tmp_path / "train.csv")
    ids = labeled_table(spec, tmp_path, SALT)[spec.id_column].to_list()
    assert len(set(ids)) == len(ids)
    assert not [(a, b) for a in ids for b in ids if a != b and (a in b or a[:8] == b[:8])]


def test_detecting_insults_ids_do_not_reveal_the_label(tmp_path: Path) -> None:
    spec = spec_of("detecting-insults-in-social-commentary")
    comments = [f'"comment number {i}"' for i in range(40)]
    insults = [i % 2 for i in range(40)]
    dates = [f"2012061819{i:04d}Z" for i in range(40)]
    frame = pl.DataFrame({"Insult": insults, "Date": dates, "Comment": comments})
    frame.head(30).write_csv(tmp_path / "train.csv")
    frame.tail(10).with_columns(pl.lit("PublicTest").alias("Usage")).write_csv(tmp_path / "test_with_solutions.csv")
    table = labeled_table(spec, tmp_path, SALT)
    order = ["Insult", "Date", "Comment"]
    assert recover_labels(table.drop("Insult"), "id", "Insult", order, [0, 1]) == [None] * table.height


# Billion word: the removed word's position came from an unkeyed hash of the public id.


def old_position(row_id: str, words: int) -> int:
    """Where the old billion_word preparer removed a word: an unkeyed hash of the public id."""
    draw = int.from_bytes(hashlib.blake2b(row_id.encode(), digest_size=8).digest(), "little")
    return 1 + draw % (words - 2)


def removed_position(sentence: str, corrupted: str) -> int:
    """The index of the word `corrupted` lacks."""
    full, short = sentence.split(), corrupted.split()
    return next(i for i in range(len(short) + 1) if full[:i] + full[i + 1 :] == short)


def test_billion_word_position_is_not_computable_from_the_id(tmp_path: Path) -> None:
    spec = spec_of("billion-word-imputation")
    rng = np.random.default_rng(3)
    # Distinct words, so the removed position is unambiguous.
    sentences = [" ".join(f"w{i}x{j}" for j in range(int(rng.integers(12, 30)))) for i in range(300)]
    (tmp_path / spec.labeled_file).write_text("\n".join(sentences) + "\n")
    table = labeled_table(spec, tmp_path, SALT)
    hits = chance = 0.0
    for row in table.iter_rows(named=True):
        words = len(row["corrupted"].split()) + 1  # public: the test sentence lacks exactly one word
        truth = removed_position(row["sentence"], row["corrupted"])
        # The old code removed exactly the word at old_position(id): the attack read it off the public id.
        hits += old_position(row["id"], words) == truth
        chance += 1 / (words - 2)
    # About chance level (one inner position in ~20), far from the old 100%.
    assert hits <= chance + 4 * math.sqrt(chance) + 2, (hits, chance)


# Speech commands: the id hashed "<word>/<speaker>_nohash_<n>.wav" while the speaker column was public.


def speech_files(root: Path) -> dict[str, str]:
    """Clip stubs in word folders; returns relative path -> Kaggle label."""
    labels = {}
    words = [*SPEECH_COMMANDS[:4], "bed", "cat"]
    for k in range(48):
        word, speaker = words[k % len(words)], f"{k % 8:08x}"
        relative = f"{word}/{speaker}_nohash_{k // 8}.wav"
        path = root / "train" / "audio" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF" + bytes([k]))
        labels[relative] = word if word in SPEECH_COMMANDS else "unknown"
    return labels


def guess_word(fname: str, speaker: str, words: list[str]) -> str | None:
    """Recompute the clip id for every (word, n) of a known speaker; the match names the word."""
    for word in words:
        for n in range(10):
            path = f"{word}/{speaker}_nohash_{n}.wav"
            if fname.removeprefix("clip_").removesuffix(".wav") in candidate_hashes(path, "speech-clip"):
                return word
    return None


def test_speech_clip_ids_and_public_files_hide_the_word(tmp_path: Path) -> None:
    spec = spec_of("tensorflow-speech-recognition-challenge")
    files_dir = tmp_path / "files"
    truth = speech_files(files_dir)
    words = sorted({relative.split("/")[0] for relative in truth})
    # Old ids: blake2b of the path, with the speaker public; the word comes back for every clip.
    for relative in truth:
        speaker = relative.split("/")[1].split("_")[0]
        assert guess_word(f"clip_{blake_hex(relative)}.wav", speaker, words) == relative.split("/")[0]

    table = labeled_table(spec, files_dir, SALT)
    for row in table.iter_rows(named=True):
        assert guess_word(row["fname"], row["speaker"], words) is None

    # The speaker, which the split groups by, never reaches the public files.
    labeled = tmp_path / "labeled.parquet"
    table.write_parquet(labeled)
    public, private = tmp_path / "public", tmp_path / "private"
    public.mkdir()
    private.mkdir()
    write_split_files(spec, labeled, files_dir, public, private, "label", salt=SALT)
    for name in ("train.csv", "test.csv"):
        public_table = pl.read_csv(public / name)
        assert "speaker" not in public_table.columns, name
        assert not any("nohash" in str(v) for column in public_table.columns for v in public_table[column])


# Herbarium / iNaturalist: image paths name the category; the id hashed the path.


def test_coco_path_ids_are_not_recomputable_from_categories(tmp_path: Path) -> None:
    spec = spec_of("herbarium-2021-fgvc8")
    categories = [15672, 301, 4420]
    paths = [f"images/{c // 100:03d}/{c % 100:02d}/{n}.jpg" for n, c in enumerate(categories * 5)]
    images = [{"id": i, "file_name": p, "height": 10, "width": 7} for i, p in enumerate(paths)]
    annotations = [{"image_id": i, "category_id": categories[i % 3]} for i in range(len(paths))]
    (tmp_path / spec.labeled_file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / spec.labeled_file).write_text(json.dumps({"images": images, "annotations": annotations}))
    for p in paths:
        (tmp_path / "train" / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "train" / p).write_bytes(b"\x00")

    def guess(row_id: str, number: int) -> int | None:
        paths_of = {c: f"images/{c // 100:03d}/{c % 100:02d}/{number}.jpg" for c in categories}
        found = [c for c, path in paths_of.items() if row_id in candidate_hashes(path, "image-path")]
        return found[0] if found else None

    # Old ids (unkeyed hash of the path): the category of every image comes back.
    assert [guess(blake_hex(p), n) for n, p in enumerate(paths)] == [categories[n % 3] for n in range(len(paths))]
    table = labeled_table(spec, tmp_path, SALT)
    numbers = {p: n for n, p in enumerate(paths)}
    assert [guess(r, numbers[p]) for r, p in table.select("id", "image").rows()] == [None] * table.height


# The split: side and board hashed (seed, id) with the YAML's public seed. A test row's side is public anyway,
# but its board is not: knowing which rows the public leaderboard scores makes probing it pay.


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """The old split's mixing function (SplitMix64's finalizer)."""
    mask = np.uint64(0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (z ^ (z >> np.uint64(31))) & mask


def old_key_hash(ids: np.ndarray, seed: int, purpose: str) -> np.ndarray:
    """The old, unkeyed split hash of integer ids: computable by anyone from the YAML's seed."""
    salt = int.from_bytes(hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).digest(), "little")
    return _splitmix64(ids.astype(np.int64).view(np.uint64) ^ np.uint64(salt))


def test_board_of_a_test_row_is_not_computable() -> None:
    ids = np.arange(1, 4001, dtype=np.int64)
    split = SplitSpec(method="random", test_fraction=0.2, public_fraction=0.5, seed=0)
    sided = assign_split(pl.DataFrame({"id": ids}), "id", split, SALT).filter(pl.col(SIDE) == "test")
    test_ids = sided["id"].to_numpy()

    def guess_public(ids: np.ndarray) -> np.ndarray:
        board = old_key_hash(ids, split.seed, "board")
        return board <= np.sort(board)[math.floor(len(board) * split.public_fraction + 0.5) - 1]

    # The old split put exactly these test rows on the public board (its own hashes and cut).
    old_test = np.sort(old_key_hash(ids, split.seed, "side"))[math.floor(len(ids) * 0.2 + 0.5) - 1]
    old_test_ids = ids[old_key_hash(ids, split.seed, "side") <= old_test]
    assert guess_public(old_test_ids).sum() == math.floor(len(old_test_ids) * split.public_fraction + 0.5)
    agreement = (guess_public(test_ids) == (sided[BOARD] == "public").to_numpy()).mean()
    assert 0.35 < agreement < 0.65, agreement  # a coin flip, not the board


# Synthetic data: generated from the YAML's seed, it could be generated again, labels included.


def test_synthetic_rows_cannot_be_generated_again_from_the_public_seed(tmp_path: Path) -> None:
    spec = spec_of("synthetic-tabular-binary")
    source = spec.source.model_copy(update={"rows": 2000})
    spec = spec.model_copy(update={"source": source})
    public_seed = generate(source.generator, source.rows, source.seed, source.params)
    raw = fetch_raw(spec, tmp_path / "raw", salt=SALT, spec_dir=COMPETITIONS_DIR)
    table = pl.read_parquet(raw.raw_dir / "labeled.parquet")
    # With the public seed an attacker regenerates every row; joined on the features, the labels follow.
    features = [c for c in public_seed.columns if c.startswith("num_")]
    joined = table.drop("target").join(public_seed, on=features, how="inner")
    assert joined.height == 0
    assert table.height == public_seed.height  # same generator and size, other draws


# The secret salt itself.


def test_secret_key_is_created_0600_once_and_unreadable_by_others(open_tmp: Path, as_nobody, monkeypatch) -> None:
    monkeypatch.delenv(secret.SECRET_ENV, raising=False)
    home = Home(open_tmp / "home")
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(secret.salt(home))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    path = open_tmp / "home" / secret.SECRET_FILE
    assert len(set(results)) == 1 and len(results[0]) == secret.SALT_BYTES
    assert path.read_bytes() == results[0]
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == [secret.SECRET_FILE]  # no temp file left behind
    (open_tmp / "home").chmod(0o755)
    denied = as_nobody(["cat", str(path)])
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    assert denied.stdout == ""


def test_a_secret_others_may_read_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(secret.SECRET_ENV, raising=False)
    home = Home(tmp_path)
    secret.salt(home)
    (tmp_path / secret.SECRET_FILE).chmod(0o644)
    with pytest.raises(secret.SecretError, match="chmod 600"):
        secret.salt(home)


def test_dojo_secret_must_be_hex_of_a_usable_length(tmp_path: Path, monkeypatch) -> None:
    for value, message in (("not hex!", "hex digits"), ("abcd", "16 to 64 bytes")):
        monkeypatch.setenv(secret.SECRET_ENV, value)
        with pytest.raises(secret.SecretError, match=message):
            secret.salt(Home(tmp_path))
    assert not (tmp_path / secret.SECRET_FILE).exists()


def _build(home: Path, slug: str) -> tuple[str, dict[str, str], dict]:
    """Fetch and build one offline task under `home`: its version, every file's sha256, task.json."""
    from assets.task import build

    spec = spec_of(slug)
    layout = Home(home)
    raw = fetch_raw(spec, layout.raw_dir(slug), salt=secret.salt(layout), spec_dir=COMPETITIONS_DIR)
    result = build(spec, layout, raw=raw)
    files = {
        path.relative_to(result.task_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(result.task_dir.rglob("*"))
        if path.is_file()
    }
    return result.task_version, files, result.meta


def test_dojo_secret_reproduces_the_bytes_and_another_salt_changes_the_version(tmp_path: Path, monkeypatch) -> None:
    shared = os.urandom(32)
    monkeypatch.setenv(secret.SECRET_ENV, shared.hex())
    first = _build(tmp_path / "one", "wine-cultivar")
    second = _build(tmp_path / "two", "wine-cultivar")
    assert first[0] == second[0] and first[1] == second[1]
    assert first[2]["secret_sha256"] == hashlib.sha256(shared).hexdigest()
    task_json = (tmp_path / "one" / "tasks" / "wine-cultivar" / first[0] / "task.json").read_text()
    assert shared.hex() not in task_json
    assert not (tmp_path / "one" / secret.SECRET_FILE).exists()  # the variable wins; no file is made

    monkeypatch.setenv(secret.SECRET_ENV, os.urandom(32).hex())
    other = _build(tmp_path / "three", "wine-cultivar")
    assert other[0] != first[0]
    assert other[1]["public/train.csv"] != first[1]["public/train.csv"]
