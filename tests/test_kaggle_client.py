"""The Kaggle client against the fake server: credentials, cached downloads, safe extraction, every fault."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_kaggle import (
    FakeCompetition,
    FakeKaggle,
    build_zip,
    image_folder_files,
    isolated_env,
    spaceship_titanic_files,
    write_credentials,
)

from curation.kaggle_client import (
    CompetitionNotFoundError,
    CorruptDownloadError,
    Credentials,
    CredentialsError,
    ExtractionLimits,
    KaggleClient,
    KaggleError,
    KaggleResponseError,
    KaggleUnavailableError,
    RetryPolicy,
    RulesNotAcceptedError,
    UnsafeArchiveError,
    cached_archive,
    find_credentials,
    read_manifest,
    safe_extract,
    sha256_file,
    zip_problem,
)

ROOT = Path(__file__).resolve().parents[1]
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_attempts=5, max_total_seconds=5.0)
TITANIC = "spaceship-titanic"
PETS = "pixel-pets"
LOCKED = "rules-first"


@pytest.fixture
def fake() -> Iterator[FakeKaggle]:
    with FakeKaggle() as server:
        server.add(FakeCompetition(TITANIC, spaceship_titanic_files(), title="Spaceship Titanic"))
        server.add(FakeCompetition(PETS, image_folder_files(), title="Pixel pets"))
        server.add(FakeCompetition(LOCKED, spaceship_titanic_files(rows=20, test_rows=5), rules_accepted=False))
        yield server


@pytest.fixture
def home(fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolated_env(monkeypatch, fake, tmp_path, credentials="token")


def client(**kwargs: object) -> KaggleClient:
    return KaggleClient(retry=FAST, **kwargs)  # type: ignore[arg-type]


def raw(home: Path, slug: str) -> Path:
    return home / "raw" / slug


# --- credentials ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "source"),
    [
        ("token", "KAGGLE_API_TOKEN"),
        ("env", "KAGGLE_USERNAME/KAGGLE_KEY"),
        ("token_file", "~/.kaggle/access_token"),
        ("kaggle_json", "kaggle.json"),
    ],
)
def test_finds_each_kind_of_credentials(kind: str, source: str, tmp_path: Path) -> None:
    fake = FakeKaggle()
    env = {"HOME": str(tmp_path), **write_credentials(tmp_path, kind, fake)}
    found = find_credentials(env, tmp_path)
    assert found is not None
    assert source in found.source
    assert (found.token, found.username, found.key) == (
        (fake.token, None, None) if "token" in kind else (None, fake.username, fake.key)
    )


def test_token_wins_over_username_and_key_as_in_the_client(tmp_path: Path) -> None:
    env = {"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k", "KAGGLE_API_TOKEN": "t0ken"}
    found = find_credentials(env, tmp_path)
    assert found is not None and found.token == "t0ken" and found.source == "KAGGLE_API_TOKEN"


def test_token_variable_may_name_a_file(tmp_path: Path) -> None:
    path = tmp_path / "token.txt"
    path.write_text("from-file\n")
    found = find_credentials({"KAGGLE_API_TOKEN": str(path)}, tmp_path)
    assert found is not None and found.token == "from-file"


def test_kaggle_json_in_config_dir_and_malformed_file(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "kaggle.json").write_text(json.dumps({"username": "a", "key": "secret-b"}))
    found = find_credentials({"KAGGLE_CONFIG_DIR": str(config)}, tmp_path)
    assert found is not None and (found.username, found.key) == ("a", "secret-b")
    (config / "kaggle.json").write_text('{"username": "a"}')
    with pytest.raises(CredentialsError, match=r"kaggle\.json must hold"):
        find_credentials({"KAGGLE_CONFIG_DIR": str(config)}, tmp_path)


def test_no_credentials_anywhere(tmp_path: Path) -> None:
    assert find_credentials({"KAGGLE_USERNAME": "only-a-name"}, tmp_path) is None


def test_secrets_never_in_repr() -> None:
    creds = Credentials("explicit", username="me", key="very-secret-key")
    token = Credentials("explicit", token="very-secret-token")
    text = repr(creds) + str(token) + repr(KaggleClient(token))
    assert "very-secret" not in text
    with pytest.raises(ValueError, match="need a token"):
        Credentials("explicit", username="me")


@pytest.mark.parametrize(("kind", "scheme"), [("token", "Bearer"), ("env", "Basic"), ("kaggle_json", "Basic")])
def test_each_credential_kind_reaches_kaggle(
    kind: str, scheme: str, fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = isolated_env(monkeypatch, fake, tmp_path, credentials=kind)
    result = client().download(TITANIC, raw(home, TITANIC))
    assert result.files == 3
    assert fake.auth_headers and all(header.startswith(scheme + " ") for header in fake.auth_headers)


def test_missing_credentials_fail_before_any_request(
    fake: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = isolated_env(monkeypatch, fake, tmp_path, credentials=None)
    with pytest.raises(CredentialsError, match=r"no Kaggle credentials found.*KAGGLE_API_TOKEN"):
        client().download(TITANIC, raw(home, TITANIC))
    assert fake.log == []


def test_wrong_credentials_say_401_and_how_to_fix_without_the_secret(
    fake: FakeKaggle, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", "wrong-token-xyz")
    with pytest.raises(CredentialsError) as caught:
        client().download(TITANIC, raw(home, TITANIC))
    message = str(caught.value)
    assert "HTTP 401" in message and "KAGGLE_API_TOKEN" in message and "settings/api" in message
    assert "wrong-token-xyz" not in message
    assert fake.count("DownloadDataFiles") == 1  # a 401 is not retried


def test_competition_list_and_download_probe(fake: FakeKaggle, home: Path) -> None:
    info = client().competition(TITANIC)
    assert info is not None and (info.title, info.rules_accepted) == ("Spaceship Titanic", True)
    locked = client().competition(LOCKED)
    assert locked is not None and locked.rules_accepted is False
    assert client().competition("no-such-thing") is None  # the list leaves out ended competitions too
    assert client().download_size(TITANIC) == len(fake.competitions[TITANIC].archive)
    with pytest.raises(RulesNotAcceptedError):
        client().download_size(LOCKED)
    assert not (home / "raw").exists()


# --- HTTP faults ---------------------------------------------------------------------------------------------


def test_rules_not_accepted_gives_the_rules_url(fake: FakeKaggle, home: Path) -> None:
    with pytest.raises(RulesNotAcceptedError) as caught:
        client().download(LOCKED, raw(home, LOCKED))
    assert caught.value.rules_url == f"https://www.kaggle.com/competitions/{LOCKED}/rules"
    assert caught.value.rules_url in str(caught.value) and "403" in str(caught.value)
    assert not (raw(home, LOCKED) / "files").exists()


def test_unknown_slug_is_a_404(fake: FakeKaggle, home: Path) -> None:
    with pytest.raises(CompetitionNotFoundError, match=r"no competition 'no-such-thing' \(HTTP 404\)"):
        client().download("no-such-thing", raw(home, "no-such-thing"))
    with pytest.raises(CompetitionNotFoundError):
        client().download_size("no-such-thing")


@pytest.mark.parametrize(("endpoint", "statuses"), [("DownloadDataFiles", (429, 503)), ("storage", (500, 502))])
def test_transient_errors_are_retried(endpoint: str, statuses: tuple[int, ...], fake: FakeKaggle, home: Path) -> None:
    fake.fail(endpoint, *statuses, retry_after="0")
    result = client().download(TITANIC, raw(home, TITANIC))
    assert result.files == 3 and not result.cached
    assert fake.count(endpoint, TITANIC) == len(statuses) + 1


def test_persistent_5xx_gives_up_after_max_attempts(fake: FakeKaggle, home: Path) -> None:
    fake.fail("DownloadDataFiles", *[503] * 10)
    with pytest.raises(KaggleUnavailableError, match=r"after 5 attempts.*HTTP 503"):
        client().download(TITANIC, raw(home, TITANIC))
    assert fake.count("DownloadDataFiles") == 5


def test_backoff_is_exponential_and_bounded_in_total_time(fake: FakeKaggle, home: Path) -> None:
    policy = RetryPolicy(initial_delay=0.02, multiplier=2.0, max_delay=10.0, max_attempts=100, max_total_seconds=0.5)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.02, 0.04, 0.08, 0.16]
    fake.fail("ListDataFiles", *[500] * 100)
    start = time.monotonic()
    with pytest.raises(KaggleUnavailableError, match="retry budget"):
        KaggleClient(retry=policy).data_files(TITANIC)
    assert time.monotonic() - start < 1.5
    # 0.02 + 0.04 + 0.08 + 0.16 = 0.30 slept; the next 0.32 would pass the 0.5 s budget.
    assert fake.count("ListDataFiles") == 5


def test_retry_after_beyond_the_budget_gives_up_at_once(fake: FakeKaggle, home: Path) -> None:
    fake.fail("ListDataFiles", 429, retry_after="3600")
    start = time.monotonic()
    with pytest.raises(KaggleUnavailableError, match="HTTP 429"):
        client().data_files(TITANIC)
    assert time.monotonic() - start < 1.0 and fake.count("ListDataFiles") == 1


def test_other_client_errors_are_not_retried(fake: FakeKaggle, home: Path) -> None:
    fake.fail("ListDataFiles", 400)
    with pytest.raises(KaggleResponseError, match="HTTP 400"):
        client().data_files(TITANIC)
    assert fake.count("ListDataFiles") == 1


# --- downloads and the cache ---------------------------------------------------------------------------------


def test_download_extracts_and_records_sha256(fake: FakeKaggle, home: Path) -> None:
    result = client().download(TITANIC, raw(home, TITANIC))
    assert sorted(p.name for p in result.files_dir.iterdir()) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert result.archive == raw(home, TITANIC) / "download" / f"{TITANIC}.zip"
    manifest = read_manifest(result.archive.parent)
    assert manifest is not None
    assert manifest["sha256"] == result.sha256 == sha256_file(result.archive)
    assert manifest["bytes"] == result.bytes == result.archive.stat().st_size
    header = (result.files_dir / "train.csv").read_text().splitlines()[0]
    assert header.startswith("PassengerId,") and header.endswith(",Transported")
    leftovers = [p.name for p in result.archive.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_image_folder_competition_keeps_its_tree(fake: FakeKaggle, home: Path) -> None:
    result = client().download(PETS, raw(home, PETS))
    files = result.files_dir
    assert (files / "train.csv").read_text().splitlines()[0] == "id,label"
    assert len(list((files / "train").glob("*.png"))) == 60 and len(list((files / "test").glob("*.png"))) == 20
    assert (files / "train" / "img00000.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.files == 60 + 20 + 2


def test_second_download_is_a_cache_hit(fake: FakeKaggle, home: Path) -> None:
    first = client().download(TITANIC, raw(home, TITANIC))
    second = client().download(TITANIC, raw(home, TITANIC))
    assert (first.cached, second.cached, second.extracted) == (False, True, False)
    assert second.sha256 == first.sha256
    assert fake.count("DownloadDataFiles") == 1 and fake.count("storage") == 1
    assert cached_archive(TITANIC, raw(home, TITANIC), verify=True) == first.archive


def test_damaged_cache_is_downloaded_again(fake: FakeKaggle, home: Path) -> None:
    first = client().download(TITANIC, raw(home, TITANIC))
    data = bytearray(first.archive.read_bytes())
    data[100] ^= 0xFF  # same size, different bytes: only the sha256 can tell
    first.archive.write_bytes(bytes(data))
    assert cached_archive(TITANIC, raw(home, TITANIC), verify=False) is not None
    assert cached_archive(TITANIC, raw(home, TITANIC), verify=True) is None
    second = client().download(TITANIC, raw(home, TITANIC))
    assert not second.cached and second.sha256 == first.sha256
    assert fake.count("storage") == 2


def test_lost_manifest_means_a_new_download(fake: FakeKaggle, home: Path) -> None:
    first = client().download(TITANIC, raw(home, TITANIC))
    (first.archive.parent / "manifest.json").unlink()
    assert not client().download(TITANIC, raw(home, TITANIC)).cached
    assert fake.count("storage") == 2


def test_deleted_files_dir_is_extracted_again_without_download(fake: FakeKaggle, home: Path) -> None:
    first = client().download(TITANIC, raw(home, TITANIC))
    for path in first.files_dir.iterdir():
        path.unlink()
    first.files_dir.rmdir()
    again = client().download(TITANIC, raw(home, TITANIC))
    assert again.cached and again.extracted and (again.files_dir / "train.csv").is_file()
    assert fake.count("storage") == 1


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_corrupt_archive_is_downloaded_once_more(damage: str, fake: FakeKaggle, home: Path) -> None:
    fake.corrupt(TITANIC, damage)
    result = client().download(TITANIC, raw(home, TITANIC))
    assert result.files == 3 and fake.count("storage") == 2
    assert zip_problem(result.archive) is None


def test_corrupt_twice_is_a_clear_error_and_nothing_is_kept(fake: FakeKaggle, home: Path) -> None:
    fake.corrupt(TITANIC, "truncate", "garble")
    with pytest.raises(CorruptDownloadError, match="corrupt or truncated twice"):
        client().download(TITANIC, raw(home, TITANIC))
    assert fake.count("storage") == 2
    download_dir = raw(home, TITANIC) / "download"
    assert list(download_dir.iterdir()) == []
    assert not (raw(home, TITANIC) / "files").exists()


def test_all_errors_share_the_base_class() -> None:
    for error in (CredentialsError, RulesNotAcceptedError, CompetitionNotFoundError, KaggleUnavailableError):
        assert issubclass(error, KaggleError)


# --- safe extraction -----------------------------------------------------------------------------------------


def _raw_zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on the duplicate names built on purpose
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def _symlink_entry(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _unix_entry(name: str, file_type: int, *, system: int = 3) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = system
    info.external_attr = (file_type | 0o644) << 16
    return info, b""


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([("ok.csv", b"a"), ("../evil.txt", b"x")], "climbs out"),
        ([("data/../../evil.txt", b"x")], "climbs out"),
        ([("..\\evil.txt", b"x")], "climbs out"),
        ([("/tmp/evil.txt", b"x")], "absolute path"),
        ([("C:/evil.txt", b"x")], "absolute path"),
        ([_symlink_entry("link", "/etc/passwd")], "symbolic link"),
        ([("ok.csv", b"a"), _unix_entry("tty", stat.S_IFCHR)], "device or special file"),
        ([_unix_entry("pipe", stat.S_IFIFO)], "device or special file"),
        ([("a.csv", b"1"), ("a.csv", b"2")], "appears twice"),
        ([("a", b"1"), ("a/b.csv", b"2")], "both a file and a directory"),
    ],
)
def test_unsafe_archives_are_refused_before_writing(
    entries: list[tuple[zipfile.ZipInfo | str, bytes]], reason: str, tmp_path: Path
) -> None:
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_raw_zip(entries))
    target = tmp_path / "deep" / "out"
    target.mkdir(parents=True)
    with pytest.raises(UnsafeArchiveError, match=reason):
        safe_extract(archive, target)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "deep" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_file_type_bits_count_only_in_unix_made_zips(tmp_path: Path) -> None:
    archive = tmp_path / "dos.zip"
    # The same high bits from another system are not a file type (some Windows tools leave junk there).
    archive.write_bytes(_raw_zip([_unix_entry("data.csv", stat.S_IFCHR, system=0)]))
    out = tmp_path / "out"
    out.mkdir()
    assert safe_extract(archive, out) == 1 and (out / "data.csv").is_file()


def test_member_count_and_size_bounds(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    archive.write_bytes(build_zip({f"f{i}.txt": b"0" * 1000 for i in range(5)}))
    with pytest.raises(UnsafeArchiveError, match="5 members exceed the limit of 4"):
        safe_extract(archive, tmp_path, ExtractionLimits(max_members=4))
    with pytest.raises(UnsafeArchiveError, match="5000 uncompressed bytes exceed the limit of 4999"):
        safe_extract(archive, tmp_path, ExtractionLimits(max_total_bytes=4999))
    out = tmp_path / "out"
    out.mkdir()
    assert safe_extract(archive, out, ExtractionLimits(max_members=5, max_total_bytes=5000)) == 5


def test_served_traversal_archive_is_refused_end_to_end(fake: FakeKaggle, home: Path) -> None:
    fake.add(FakeCompetition("sneaky", {"train.csv": b"id,y\n1,0\n", "../../escape.txt": b"gotcha"}))
    with pytest.raises(UnsafeArchiveError, match="climbs out"):
        client().download("sneaky", raw(home, "sneaky"))
    assert not (raw(home, "sneaky") / "files").exists()
    assert not any(path.name == "escape.txt" for path in home.parent.rglob("*"))


def test_extraction_limits_apply_to_downloads(fake: FakeKaggle, home: Path) -> None:
    with pytest.raises(UnsafeArchiveError, match="members exceed"):
        client(limits=ExtractionLimits(max_members=10)).download(PETS, raw(home, PETS))


# --- import hygiene ------------------------------------------------------------------------------------------


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_importing_the_project_does_not_import_kaggle() -> None:
    code = (
        "import sys, curation.kaggle_client, curation.kaggle_leaderboards, curation.preflight, "
        "pipelines.kaggle_resource, pipelines.definitions\n"
        "assert 'kaggle' not in sys.modules, 'kaggle imported eagerly'"
    )
    done = _run_python(code, dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_the_lazy_import_is_silent_and_offline(fake: FakeKaggle, home: Path) -> None:
    env = dict(os.environ)
    ours = _run_python(
        "import os\nfrom curation.kaggle_client import _kaggle_api_class\ncls = _kaggle_api_class()\n"
        "assert os.environ['KAGGLE_API_TOKEN'] and os.environ['HOME'].endswith('home')\nprint('done')",
        env,
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == "done\n" and ours.stderr == ""
    assert fake.log == []
    assert sorted(path.name for path in Path(env["HOME"]).iterdir()) == []  # no ~/.kaggle, no ~/.config/kaggle
    # The control: a bare `import kaggle` with a token in sight introspects it over the network.
    naive = _run_python("import kaggle", env)
    assert naive.returncode == 0
    assert fake.count("/api/v1/security.OAuthService/IntrospectToken") >= 1, fake.log
