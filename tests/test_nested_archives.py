"""Archives inside the Kaggle download (train.csv.zip, train.zip, train.gz, *.tar.gz, train.7z) unpacked in place:
naming rules, the safety rules of the download at every level, one size budget over all levels, the cache."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import stat
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_kaggle import FakeCompetition, FakeKaggle, build_zip, image_folder_files, isolated_env

from curation.kaggle_client import (
    EXTRACTION_VERSION,
    CorruptDownloadError,
    Extraction,
    ExtractionLimits,
    KaggleClient,
    NestedArchive,
    RetryPolicy,
    UnsafeArchiveError,
    UnsupportedArchiveError,
    _walk_extracted,  # the post-check of 7z trees, testable without py7zr
    archive_kind,
    extract_download,
    read_manifest,
    write_manifest,
)
from curation.sources import fetch_raw
from curation.spec import load_spec

FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_attempts=5, max_total_seconds=5.0)
CSV = b"id,label\n1,cat\n2,dog\n"
MB = 1 << 20


# --- archive builders ------------------------------------------------------------------------------------------


def tar(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            archive.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


def tar_with(member: tarfile.TarInfo) -> bytes:
    """A tar.gz holding one ordinary file and `member` (a link, a device, ...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        ok = tarfile.TarInfo("ok.csv")
        ok.size = len(CSV)
        archive.addfile(ok, io.BytesIO(CSV))
        archive.addfile(member, io.BytesIO(b"x" * member.size) if member.isreg() else None)
    return buffer.getvalue()


def tar_member(name: str, kind: bytes, *, link: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, size
    return info


def gz(data: bytes, original_name: str | None = None) -> bytes:
    """Gzip bytes; `original_name` goes into the header's FNAME field as `gzip file.csv` would put it."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=original_name or "", mode="wb", fileobj=buffer, mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()


def zip_symlink(name: str, target: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.csv", CSV)
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return buffer.getvalue()


def zip_raw(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of these entries in this order, names as given (build_zip sorts them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


# --- helpers ---------------------------------------------------------------------------------------------------


def unpack(tmp_path: Path, files: dict[str, bytes], limits: ExtractionLimits | None = None) -> Extraction:
    """Write `files` as the download zip and run extract_download into tmp_path/files."""
    archive = tmp_path / "comp.zip"
    archive.write_bytes(build_zip(files))
    destination = tmp_path / "files"
    destination.mkdir()
    return extract_download(archive, destination, limits or ExtractionLimits())


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def outside(tmp_path: Path) -> list[str]:
    """Files written anywhere under tmp_path except the download and the extraction dir."""
    return [
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if p.is_file() and p.name != "comp.zip" and "files" not in p.relative_to(tmp_path).parts[:1]
    ]


# --- recognizing archives --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("train.csv.zip", ("zip", "train.csv")),
        ("data/Train.ZIP", ("zip", "Train")),
        ("train_val2019.tar.gz", ("tar", "train_val2019")),
        ("images.tgz", ("tar", "images")),
        ("a.tar.bz2", ("tar", "a")),
        ("a.tar.xz", ("tar", "a")),
        ("a.tar", ("tar", "a")),
        ("train.gz", ("gzip", "train")),
        ("test.csv.bz2", ("bz2", "test.csv")),
        ("x.json.xz", ("xz", "x.json")),
        ("train.json.7z", ("7z", "train.json")),
        ("train.csv", None),
        ("weights.npz", None),
        (".zip", None),
    ],
)
def test_archives_are_recognized_by_name(name: str, expected: tuple[str, str] | None) -> None:
    assert archive_kind(name) == expected


# --- naming rules ----------------------------------------------------------------------------------------------


def test_zipped_single_files_land_under_their_own_names(tmp_path: Path) -> None:
    result = unpack(
        tmp_path,
        {
            "train.csv.zip": build_zip({"train.csv": CSV}),
            "test.zip": build_zip({"sorted_test.csv": b"id\n3\n"}),  # afsis: the member's name, not the stem
            "train.json.zip": build_zip({"data/processed/train.json": b"[]"}),  # statoil keeps the member path
            "sample_submission.csv": b"id,label\n3,cat\n",
        },
    )
    assert tree(tmp_path / "files") == {
        "data/processed/train.json": b"[]",
        "sample_submission.csv": b"id,label\n3,cat\n",
        "sorted_test.csv": b"id\n3\n",
        "train.csv": CSV,
    }
    assert result.files == 4
    assert [(n.archive, n.kind, n.into, n.files) for n in result.nested] == [
        ("test.zip", "zip", ".", 1),
        ("train.csv.zip", "zip", ".", 1),
        ("train.json.zip", "zip", ".", 1),
    ]


@pytest.mark.parametrize("inside", ["train/", ""], ids=["under-train-folder", "bare-files"])
def test_a_folder_archive_lands_in_a_folder_named_after_its_stem(inside: str, tmp_path: Path) -> None:
    images = {f"{inside}{i}.jpg": bytes([i]) * 10 for i in range(3)}
    result = unpack(tmp_path, {"train.zip": build_zip(images)})
    assert tree(tmp_path / "files") == {f"train/{i}.jpg": bytes([i]) * 10 for i in range(3)}
    assert result.nested == (NestedArchive("train.zip", "zip", "." if inside else "train", 3, 30),)


def test_a_folder_named_otherwise_goes_under_the_stem(tmp_path: Path) -> None:
    unpack(tmp_path, {"data.zip": build_zip({"raw/a.csv": CSV, "raw/b.csv": CSV})})
    assert sorted(tree(tmp_path / "files")) == ["data/raw/a.csv", "data/raw/b.csv"]


def test_single_compressed_files_lose_their_suffix(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        {
            "train.csv.gz": gz(CSV),
            "test.csv.bz2": bz2.compress(b"id\n3\n"),
            "notes.txt.xz": lzma.compress(b"hello"),
            "avazu/train.gz": gz(CSV, original_name="train.csv"),  # gzip header says train.csv: keep the .csv
            "avazu/test.gz": gz(b"id\n9\n"),  # no name in the header
            "avazu/other.gz": gz(b"x", original_name="unrelated.csv"),  # a header name that is not an extension
        },
    )
    assert tree(tmp_path / "files") == {
        "avazu/other": b"x",
        "avazu/test": b"id\n9\n",
        "avazu/train.csv": CSV,
        "notes.txt": b"hello",
        "test.csv": b"id\n3\n",
        "train.csv": CSV,
    }


def test_tarballs_follow_the_same_folder_rules(tmp_path: Path) -> None:
    result = unpack(
        tmp_path,
        {
            "train_val2019.tar.gz": tar({"train_val2019/Plants/1/a.jpg": b"a", "train_val2019/Plants/2/b.jpg": b"b"}),
            "images.tgz": tar({"1.png": b"1", "2.png": b"2"}),
            "meta.tar.bz2": tar({"meta.json": b"{}"}, mode="w:bz2"),
            "plain.tar": tar({"plain/x.txt": b"x", "plain/y.txt": b"y"}, mode="w"),
        },
    )
    assert tree(tmp_path / "files") == {
        "images/1.png": b"1",
        "images/2.png": b"2",
        "meta.json": b"{}",
        "plain/x.txt": b"x",
        "plain/y.txt": b"y",
        "train_val2019/Plants/1/a.jpg": b"a",
        "train_val2019/Plants/2/b.jpg": b"b",
    }
    assert {n.archive: n.into for n in result.nested} == {
        "images.tgz": "images",
        "meta.tar.bz2": ".",
        "plain.tar": ".",
        "train_val2019.tar.gz": ".",
    }


def test_nested_levels_are_unpacked_recursively_down_to_the_depth_limit(tmp_path: Path) -> None:
    inner = tar({"part1.csv.gz": gz(CSV), "part2.csv.gz": gz(CSV)})
    files = {"bundle.zip": build_zip({"bundle/inner.tar.gz": inner, "bundle/README": b"r"})}
    result = unpack(tmp_path, files)
    assert tree(tmp_path / "files") == {
        "bundle/README": b"r",
        "bundle/inner/part1.csv": CSV,
        "bundle/inner/part2.csv": CSV,
    }
    assert [n.archive for n in result.nested] == [
        "bundle.zip",
        "bundle/inner.tar.gz",
        "bundle/inner/part1.csv.gz",
        "bundle/inner/part2.csv.gz",
    ]
    assert result.files == 3

    again = tmp_path / "shallow"
    again.mkdir()
    with pytest.raises(UnsafeArchiveError, match=r"part1\.csv\.gz.*nested 3 levels deep, past the limit of 2"):
        unpack(again, files, ExtractionLimits(max_depth=2))


def test_folders_merge_but_nothing_is_overwritten(tmp_path: Path) -> None:
    result = unpack(
        tmp_path,
        {
            "train/a.png": b"a",
            "train/b.png": b"b",  # shipped both loose and inside the zip, byte for byte: fine
            "train.zip": build_zip({"b.png": b"b", "c.png": b"c"}),
        },
    )
    assert tree(tmp_path / "files") == {"train/a.png": b"a", "train/b.png": b"b", "train/c.png": b"c"}
    assert result.files == 3 and result.nested[0].files == 1

    clash = tmp_path / "clash"
    clash.mkdir()
    with pytest.raises(UnsafeArchiveError, match=r"'train\.csv\.zip'.*would overwrite 'train\.csv' with other"):
        unpack(clash, {"train.csv": b"mine", "train.csv.zip": build_zip({"train.csv": b"theirs"})})
    assert (clash / "files" / "train.csv").read_bytes() == b"mine"
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(UnsafeArchiveError, match=r"needs the directory 'train', a file already there"):
        unpack(folder, {"train": b"a file", "train.zip": build_zip({"1.png": b"1", "2.png": b"2"})})


def test_macos_metadata_is_neither_data_nor_an_archive(tmp_path: Path) -> None:
    unpack(
        tmp_path,
        {
            "train.csv.zip": build_zip({"train.csv": CSV, "__MACOSX/._train.csv": b"\x00\x05\x16\x07"}),
            "__MACOSX/._train.csv.zip": b"\x00\x05\x16\x07",  # AppleDouble beside the zip: not a zip itself
        },
    )
    assert tree(tmp_path / "files") == {"__MACOSX/._train.csv.zip": b"\x00\x05\x16\x07", "train.csv": CSV}


# --- safety inside nested archives -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nested", "reason"),
    [
        ({"x.zip": zip_raw([("ok.csv", CSV), ("../../evil.txt", b"gotcha")])}, "climbs out"),
        ({"x.zip": zip_raw([("/tmp/evil.txt", b"gotcha")])}, "absolute path"),
        ({"x.zip": zip_symlink("link", "/etc/passwd")}, "symbolic link"),
        ({"x.zip": zip_raw([("a.csv", b"1"), ("a.csv/b.csv", b"2")])}, "both a file and a directory"),
        ({"x.tar.gz": tar({"ok.csv": CSV, "../../evil.txt": b"gotcha"})}, "climbs out"),
        ({"x.tar.gz": tar({"/etc/evil.txt": b"gotcha"})}, "absolute path"),
        ({"x.tar.gz": tar_with(tar_member("link", tarfile.SYMTYPE, link="/etc/passwd"))}, "is a link"),
        ({"x.tar.gz": tar_with(tar_member("hard", tarfile.LNKTYPE, link="ok.csv"))}, "is a link"),
        ({"x.tar.gz": tar_with(tar_member("tty", tarfile.CHRTYPE))}, "device or special file"),
        ({"x.tar.gz": tar_with(tar_member("pipe", tarfile.FIFOTYPE))}, "device or special file"),
        ({"deep/x.zip": zip_raw([("../../../evil.txt", b"gotcha")])}, "climbs out"),
    ],
)
def test_unsafe_members_of_nested_archives_are_refused(nested: dict[str, bytes], reason: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchiveError, match=reason) as caught:
        unpack(tmp_path, {"train.csv": CSV, **nested})
    assert "(inside comp.zip)" in str(caught.value)
    assert outside(tmp_path) == []
    assert not any(p.name == "evil.txt" or p.is_symlink() for p in tmp_path.rglob("*"))


def test_a_nested_zip_bomb_is_refused_before_it_is_written(tmp_path: Path) -> None:
    bomb = build_zip({"big.csv": b"0" * (4 * MB)})
    assert len(build_zip({"data.zip": bomb})) < 64 * 1024  # the download itself looks harmless
    with pytest.raises(UnsafeArchiveError, match=r"'data\.zip'.*exceed the limit of 1048576 \(counted across"):
        unpack(tmp_path, {"data.zip": bomb}, ExtractionLimits(max_total_bytes=MB))
    assert not any(p.name == "big.csv" for p in tmp_path.rglob("*"))


@pytest.mark.parametrize(
    ("name", "bomb"),
    [("big.csv.gz", gz(b"0" * (4 * MB))), ("big.tar.gz", tar({"big.csv": b"0" * (4 * MB)}))],
    ids=["gz-charged-as-it-inflates", "tar-charged-by-its-header"],
)
def test_compressed_bombs_stop_at_the_budget(name: str, bomb: bytes, tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchiveError, match="uncompressed bytes exceed the limit"):
        unpack(tmp_path, {name: bomb}, ExtractionLimits(max_total_bytes=MB))
    written = sum(p.stat().st_size for p in tmp_path.joinpath("files").rglob("*") if p.is_file())
    assert written <= MB


def test_bounds_add_up_across_levels_and_siblings(tmp_path: Path) -> None:
    files = {"a.zip": build_zip({"a.csv": b"1" * 600}), "b.zip": build_zip({"b.csv": b"1" * 600})}
    outer = sum(map(len, files.values()))  # what the download declares; each nested zip adds 600
    limit = outer + 900  # the download and either nested zip fit, not both
    with pytest.raises(UnsafeArchiveError, match=rf"'b\.zip'.*{outer + 1200} uncompressed bytes exceed the limit"):
        unpack(tmp_path, files, ExtractionLimits(max_total_bytes=limit))
    fits = tmp_path / "fits"
    fits.mkdir()
    assert unpack(fits, files, ExtractionLimits(max_total_bytes=outer + 1200)).files == 2
    many = tmp_path / "many"
    many.mkdir()
    five = build_zip({f"{i}.csv": CSV for i in range(5)})
    with pytest.raises(UnsafeArchiveError, match=r"'x\.zip'.*8 members exceed the limit of 6"):
        unpack(many, {"a.csv": CSV, "b.csv": CSV, "x.zip": five}, ExtractionLimits(max_members=6))


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("train.csv.gz", b"not gzip at all", "gzip"),
        ("train.zip", b"PK\x03\x04 broken", "zip"),
        ("train.tar.gz", gz(b"not a tar"), "tar"),
        ("t.csv.xz", b"garbage", "xz"),
    ],
)
def test_unreadable_nested_archives_say_so(name: str, data: bytes, kind: str, tmp_path: Path) -> None:
    with pytest.raises(CorruptDownloadError, match=rf"cannot be read as a {kind} archive.*download itself is intact"):
        unpack(tmp_path, {name: data})


def test_7z_without_py7zr_names_the_file_and_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "py7zr", None)  # as if it were not installed
    signature = b"7z\xbc\xaf\x27\x1c" + b"\x00" * 26
    with pytest.raises(UnsupportedArchiveError, match=r"'train\.7z'.*py7zr package.*py7zr==1\.1\.4"):
        unpack(tmp_path, {"train.7z": signature, "train_labels.csv": CSV})


def test_7z_archives_unpack_with_py7zr(tmp_path: Path) -> None:
    py7zr = pytest.importorskip("py7zr")

    def seven(files: dict[str, bytes]) -> bytes:
        path = tmp_path / "build.7z"
        with py7zr.SevenZipFile(path, "w") as archive:
            for name, data in files.items():
                archive.writestr(data, name)
        data = path.read_bytes()
        path.unlink()
        return data

    out = tmp_path / "out"
    out.mkdir()
    result = unpack(
        out,
        {
            "train.7z": seven({"train/1.jpg": b"1", "train/2.jpg": b"2"}),
            "train.json.7z": seven({"data/processed/train.json": b"[]"}),
        },
    )
    assert tree(out / "files") == {"data/processed/train.json": b"[]", "train/1.jpg": b"1", "train/2.jpg": b"2"}
    assert {n.archive: n.into for n in result.nested} == {"train.7z": ".", "train.json.7z": "."}
    bomb = tmp_path / "bomb"
    bomb.mkdir()
    with pytest.raises(UnsafeArchiveError, match="exceed"):
        unpack(bomb, {"big.7z": seven({"big.csv": b"0" * (2 * MB)})}, ExtractionLimits(max_total_bytes=MB))


def test_trees_written_by_a_third_party_extractor_are_checked(tmp_path: Path) -> None:
    # py7zr writes its own files, so a 7z tree is walked afterwards; the walk runs here without py7zr.
    root = tmp_path / "staged"
    (root / "train").mkdir(parents=True)
    (root / "train" / "1.jpg").write_bytes(b"123")
    (root / "train" / "1.jpg").chmod(0o000)  # a 7z member may carry any mode
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "._1.jpg").write_bytes(b"junk")
    written = _walk_extracted(root, "'t.7z'", declared=7)
    assert (written.files, written.bytes) == (1, 3)
    assert tree(root) == {"train/1.jpg": b"123"}
    assert stat.S_IMODE((root / "train" / "1.jpg").stat().st_mode) == 0o644
    with pytest.raises(UnsafeArchiveError, match="more than the 2 it declares"):
        _walk_extracted(root, "'t.7z'", declared=2)
    (root / "train" / "link").symlink_to("/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match=r"train/link unpacked as a link or special file"):
        _walk_extracted(root, "'t.7z'", declared=7)


# --- through the client and the fake Kaggle --------------------------------------------------------------------


NESTED = "nested-pets"


def nested_pets_files() -> dict[str, bytes]:
    """image_folder_files, shipped the way Kaggle often does: every part in an archive of its own."""
    plain = image_folder_files()
    return {
        "train.csv.zip": build_zip({"train.csv": plain["train.csv"]}),
        "train.zip": build_zip({k: v for k, v in plain.items() if k.startswith("train/")}),
        "test.zip": build_zip({k.removeprefix("test/"): v for k, v in plain.items() if k.startswith("test/")}),
        "sample_submission.csv.gz": gz(plain["sample_submission.csv"], original_name="sample_submission.csv"),
    }


@pytest.fixture
def fake() -> Iterator[FakeKaggle]:
    with FakeKaggle() as server:
        server.add(FakeCompetition(NESTED, nested_pets_files(), title="Pixel pets, zipped"))
        yield server


@pytest.fixture
def home(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolated_env(monkeypatch, fake, tmp_path, credentials="token")


def test_download_unpacks_nested_archives_and_caches_the_result(fake: FakeKaggle, home: Path) -> None:
    raw_dir = home / "raw" / NESTED
    first = KaggleClient(retry=FAST).download(NESTED, raw_dir)
    plain = image_folder_files()
    assert tree(first.files_dir) == plain  # exactly the unzipped competition: names, bytes, nothing else
    assert first.files == len(plain) == 82 and first.extracted
    assert [(n.archive, n.into) for n in first.nested] == [
        ("sample_submission.csv.gz", "."),
        ("test.zip", "test"),
        ("train.csv.zip", "."),
        ("train.zip", "."),
    ]
    manifest = read_manifest(raw_dir / "download")
    assert manifest is not None and manifest["extraction"] == EXTRACTION_VERSION and manifest["files"] == 82
    assert [item["archive"] for item in manifest["nested"]] == [n.archive for n in first.nested]
    assert not [p for p in raw_dir.rglob("*") if p.name.startswith((".tmp-", ".unpack-"))]

    marker = first.files_dir / "train" / "img00000.png"
    stamp = marker.stat().st_mtime_ns
    second = KaggleClient(retry=FAST).download(NESTED, raw_dir)
    assert (second.cached, second.extracted) == (True, False)
    assert second.nested == first.nested and second.files == 82
    assert marker.stat().st_mtime_ns == stamp  # not rewritten
    assert fake.count("storage") == 1


def test_a_cache_from_before_nested_unpacking_is_unpacked_again(fake: FakeKaggle, home: Path) -> None:
    raw_dir = home / "raw" / NESTED
    KaggleClient(retry=FAST).download(NESTED, raw_dir)
    download_dir = raw_dir / "download"
    manifest = read_manifest(download_dir)
    assert manifest is not None
    old = {k: v for k, v in manifest.items() if k not in ("extraction", "nested")}  # what the old code wrote
    write_manifest(download_dir, old)
    again = KaggleClient(retry=FAST).download(NESTED, raw_dir)
    assert (again.cached, again.extracted) == (True, True) and again.files == 82
    assert fake.count("storage") == 1
    rewritten = read_manifest(download_dir)
    assert rewritten is not None and rewritten["extraction"] == EXTRACTION_VERSION


def test_nested_bombs_and_traversal_fail_the_download_cleanly(fake: FakeKaggle, home: Path) -> None:
    fake.add(FakeCompetition("bomb", {"train.csv": CSV, "data.zip": build_zip({"big.csv": b"0" * (2 * MB)})}))
    fake.add(FakeCompetition("sneaky", {"train.csv.zip": zip_raw([("../../../escape.txt", b"gotcha")])}))
    small = KaggleClient(retry=FAST, limits=ExtractionLimits(max_total_bytes=MB))
    with pytest.raises(UnsafeArchiveError, match=r"'data\.zip' \(inside bomb\.zip\).*exceed the limit"):
        small.download("bomb", home / "raw" / "bomb")
    with pytest.raises(UnsafeArchiveError, match="climbs out"):
        KaggleClient(retry=FAST).download("sneaky", home / "raw" / "sneaky")
    for slug in ("bomb", "sneaky"):
        raw_dir = home / "raw" / slug
        assert not (raw_dir / "files").exists()
        assert sorted(p.name for p in raw_dir.iterdir()) == ["download"]  # no temp dir left behind
    assert not any(p.name in ("escape.txt", "big.csv") for p in home.parent.rglob("*"))


def test_a_spec_names_the_unpacked_files(fake: FakeKaggle, home: Path, tmp_path: Path) -> None:
    spec_path = tmp_path / "nested-pets.yaml"
    spec_path.write_text(
        textwrap.dedent(
            """\
            slug: nested-pets
            title: Pixel pets, zipped (fake)
            source: {kind: kaggle}
            task_type: image_classification
            id_column: id
            target_columns: [label]
            metric: {name: accuracy}
            higher_is_better: true
            split: {method: stratified, stratify_column: label, test_fraction: 0.25, seed: 0}
            files:
              # train.csv ships inside train.csv.zip, train/ inside train.zip.
              labeled: train.csv
              media: {column: image, raw_dir: train, public_dir: images}
            preparer: id_media:id_png
            description: Classify tiny pictures of pets.
            tags: [image, kaggle]
            """
        )
    )
    salt = bytes(range(32))  # any salt: this test looks at the files, not at the ids
    result = fetch_raw(
        load_spec(spec_path), home / "raw" / NESTED, salt=salt, download=KaggleClient(retry=FAST).download
    )
    assert result.labeled_rows == 60
    assert "files/train/img00000.png" in result.files and "files/train.csv" in result.files
    assert not [name for name in result.files if archive_kind(name)]
