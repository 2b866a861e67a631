"""Kaggle competitions through the real `kaggle` client: credentials, cached downloads, safe extraction, faults.

The `kaggle` package authenticates (and may print, or call the network) when it is imported, so it is imported
lazily, once, with its config dir and HOME pointed at an empty temp dir and its output swallowed. After that
every call gets a fresh `KaggleApi` instance carrying the credentials found here explicitly.

Archives: the download is one zip, extracted into raw/<slug>/files/; archives inside it (train.csv.zip,
train.zip, train.gz, *.tar.gz, train.7z, ...) are unpacked in place under the same safety rules, naming rules
in `extract_download`.

Endpoint: the client talks to https://api.kaggle.com, or to http://localhost when KAGGLE_API_ENVIRONMENT is
LOCALHOST (read at call time here, not once at import as the client itself does). Tests run a fake server on
127.0.0.1 and reach it as the HTTP proxy of that localhost endpoint.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import stat
import sys
import tarfile
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar

import requests

from curation.layout import atomic_dir, atomic_write_bytes

KAGGLE_WEB = "https://www.kaggle.com"
API_TOKEN_URL = f"{KAGGLE_WEB}/settings/api"
MANIFEST_NAME = "manifest.json"
_CHUNK = 1 << 20
_MAX_PAGES = 10_000  # a guard against a server that keeps sending page tokens

T = TypeVar("T")


def rules_url(slug: str) -> str:
    """The page where a competition's rules are accepted."""
    return f"{KAGGLE_WEB}/competitions/{slug}/rules"


# ---------------------------------------------------------------------------------------------------------------
# Errors


class KaggleError(Exception):
    """Any failure talking to Kaggle or handling what it sent; the message says what to do."""


class CredentialsError(KaggleError):
    """No credentials were found, or Kaggle rejected them (HTTP 401)."""


class RulesNotAcceptedError(KaggleError):
    """Kaggle refused access (HTTP 403): the competition's rules have not been accepted by this account."""

    def __init__(self, slug: str, detail: str = "") -> None:
        self.slug = slug
        self.rules_url = rules_url(slug)
        extra = f" Kaggle said: {detail}" if detail else ""
        super().__init__(
            f"Kaggle refused access to competition {slug!r} (HTTP 403): its rules must be accepted by this "
            f"account first. Open {self.rules_url}, accept the rules, then retry (if they are accepted, the "
            f"account lacks access some other way, e.g. an unverified phone or an invite-only competition).{extra}"
        )


class CompetitionNotFoundError(KaggleError):
    """Kaggle does not know the competition (HTTP 404)."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        super().__init__(
            f"Kaggle has no competition {slug!r} (HTTP 404): check the slug (the part after /competitions/ in "
            f"{KAGGLE_WEB}/competitions/<slug>) and the spec's source.competition field."
        )


class KaggleUnavailableError(KaggleError):
    """Kaggle kept answering 429 / 5xx or could not be reached within the retry budget."""


class KaggleResponseError(KaggleError):
    """Kaggle answered with an HTTP error that has no more specific meaning here."""


class CorruptDownloadError(KaggleError):
    """The downloaded archive is truncated or corrupt, also after one fresh download."""


class UnsafeArchiveError(KaggleError):
    """An archive (the download or one inside it) holds a member that could escape the target dir, a link or
    special file, a member that would overwrite another, or passes the size, count or depth bounds."""


class UnsupportedArchiveError(KaggleError):
    """An archive that cannot be read here: a zip method zipfile lacks (e.g. Deflate64), a download that is not a
    zip, a password-protected 7z, or a 7z archive while the optional py7zr package is not installed."""


# ---------------------------------------------------------------------------------------------------------------
# Credentials


@dataclass(frozen=True)
class Credentials:
    """Kaggle credentials and where they came from; the secret never appears in repr or str.

    Either `token` (an access token) or both `username` and `key` (a legacy API key) are set.
    `source` names the origin ("KAGGLE_API_TOKEN", "~/.kaggle/access_token", "KAGGLE_USERNAME/KAGGLE_KEY",
    a kaggle.json path, or "explicit") so messages can say which credentials were used without showing them.
    """

    source: str
    username: str | None = None
    key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.token and not (self.username and self.key):
            raise ValueError(f"credentials from {self.source}: need a token, or both a username and a key")

    @property
    def kind(self) -> str:
        return "access token" if self.token else "API key"


def credentials_help() -> str:
    """How to give this project Kaggle credentials (one of three ways)."""
    return (
        f"Create a token at {API_TOKEN_URL}, then either export KAGGLE_API_TOKEN=<token> (or save it to "
        "~/.kaggle/access_token), or export KAGGLE_USERNAME and KAGGLE_KEY, or save the legacy kaggle.json "
        "to ~/.kaggle/kaggle.json (chmod 600)."
    )


def find_credentials(environ: Mapping[str, str] | None = None, home: Path | None = None) -> Credentials | None:
    """Find credentials in the order the `kaggle` client itself uses them, so what is reported is what is used.

    1. KAGGLE_API_TOKEN (the token itself, or a path to a file holding it), then ~/.kaggle/access_token(.txt);
    2. KAGGLE_USERNAME and KAGGLE_KEY;
    3. kaggle.json in $KAGGLE_CONFIG_DIR, ~/.kaggle or $XDG_CONFIG_HOME/kaggle.
    A kaggle.json that is not valid JSON or lacks username/key raises CredentialsError naming the file.
    """
    env = os.environ if environ is None else environ
    home_dir = Path(env.get("HOME") or Path.home()) if home is None else home
    token = env.get("KAGGLE_API_TOKEN", "").strip()
    if token:
        token_path = Path(token).expanduser()
        if len(token) < 4096 and token_path.is_file():
            file_token = token_path.read_text(encoding="utf-8").strip()
            if file_token:
                return Credentials(source="KAGGLE_API_TOKEN (file)", token=file_token)
        else:
            return Credentials(source="KAGGLE_API_TOKEN", token=token)
    for name in ("access_token", "access_token.txt"):
        path = home_dir / ".kaggle" / name
        if path.is_file():
            file_token = path.read_text(encoding="utf-8").strip()
            if file_token:
                return Credentials(source=f"~/.kaggle/{name}", token=file_token)
    username, key = env.get("KAGGLE_USERNAME", "").strip(), env.get("KAGGLE_KEY", "").strip()
    if username and key:
        return Credentials(source="KAGGLE_USERNAME/KAGGLE_KEY", username=username, key=key)
    for path in _kaggle_json_candidates(env, home_dir):
        if path.is_file():
            return _read_kaggle_json(path)
    return None


def _kaggle_json_candidates(env: Mapping[str, str], home_dir: Path) -> list[Path]:
    """Where the `kaggle` CLI looks for kaggle.json, in its order."""
    candidates = []
    if env.get("KAGGLE_CONFIG_DIR"):
        candidates.append(Path(env["KAGGLE_CONFIG_DIR"]).expanduser() / "kaggle.json")
    candidates.append(home_dir / ".kaggle" / "kaggle.json")
    xdg = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home_dir / ".config"
    candidates.append(xdg / "kaggle" / "kaggle.json")
    return candidates


def _read_kaggle_json(path: Path) -> Credentials:
    """Credentials from a kaggle.json file; the error names the file, never its content."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CredentialsError(f"cannot read {path}: {type(exc).__name__}. {credentials_help()}") from None
    if not isinstance(data, dict) or not data.get("username") or not data.get("key"):
        raise CredentialsError(f"{path} must hold {{'username': ..., 'key': ...}}. {credentials_help()}")
    return Credentials(source=str(path), username=str(data["username"]), key=str(data["key"]))


# ---------------------------------------------------------------------------------------------------------------
# The `kaggle` package, imported quietly


_IMPORT_LOCK = threading.Lock()
_KAGGLE_MODULE = "kaggle.api.kaggle_api_extended"
# Variables that make `import kaggle` find credentials, call the network to check them, or print help.
_IMPORT_SENSITIVE_ENV = ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "HOME")


def _kaggle_api_class() -> Any:
    """`KaggleApi`, imported once with no credentials in sight so its import-time login is silent and offline."""
    module = sys.modules.get(_KAGGLE_MODULE)
    if module is not None:
        return module.KaggleApi
    with _IMPORT_LOCK:
        module = sys.modules.get(_KAGGLE_MODULE)
        if module is None:
            module = _quiet_import()
    return module.KaggleApi


def _quiet_import() -> Any:
    """Import the client with HOME and KAGGLE_CONFIG_DIR on an empty temp dir and its prints swallowed."""
    import importlib

    harmless = tempfile.mkdtemp(prefix="mle-dojo-kaggle-config-")
    saved = {name: os.environ.get(name) for name in _IMPORT_SENSITIVE_ENV}
    try:
        for name in _IMPORT_SENSITIVE_ENV:
            os.environ.pop(name, None)
        os.environ["HOME"] = harmless
        os.environ["KAGGLE_CONFIG_DIR"] = harmless
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return importlib.import_module(_KAGGLE_MODULE)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(harmless, ignore_errors=True)


def _client_args() -> list[str]:
    """The client's environment flag, read now (the client reads KAGGLE_API_ENVIRONMENT only once, at import)."""
    return ["--local"] if os.environ.get("KAGGLE_API_ENVIRONMENT") == "LOCALHOST" else []


# ---------------------------------------------------------------------------------------------------------------
# Retries and HTTP errors


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for 429, 5xx and connection errors, bounded in attempts and in total sleep time."""

    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    max_attempts: int = 8
    max_total_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.multiplier < 1 or self.max_delay < 0 or self.max_total_seconds < 0:
            raise ValueError(f"retry policy out of range: {self}")
        if self.max_attempts < 1:
            raise ValueError(f"retry policy needs max_attempts >= 1, got {self.max_attempts}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        return min(self.max_delay, self.initial_delay * self.multiplier ** (retry - 1))


def _http_status(error: requests.HTTPError) -> int | None:
    """The status of a failed call: the HTTP status, or the `code` of a JSON error body sent with 200."""
    response = error.response
    if response is None:
        return None
    if response.status_code >= 400:
        return response.status_code
    with contextlib.suppress(ValueError, AttributeError):
        code = response.json().get("code")
        if isinstance(code, int):
            return code
    return response.status_code


def _server_message(error: requests.HTTPError) -> str:
    """Kaggle's own error text (JSON `message`), shortened; never request headers."""
    response = error.response
    if response is None:
        return str(error)[:300]
    with contextlib.suppress(ValueError, AttributeError):
        body = response.json()
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])[:300]
    return (response.reason or "")[:300]


def _retry_after(error: requests.HTTPError) -> float | None:
    """The Retry-After header in seconds, when the server sent a numeric one."""
    if error.response is None:
        return None
    value = error.response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


_TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


# ---------------------------------------------------------------------------------------------------------------
# Archives
#
# The download is one zip. Many competitions ship archives inside it (train.csv.zip, train.zip holding an image
# folder, train.gz, train_val2019.tar.gz, train.7z); specs name files as they are after unpacking, so
# `extract_download` unpacks those in place too, under the same safety rules and one shared size budget.

# Bump when the tree `extract_download` makes from a given archive changes: cached files/ dirs are then rebuilt.
EXTRACTION_VERSION = 2

# Suffix -> kind, longest first so that .tar.gz wins over .gz. Matched case-insensitively on the file name.
_ARCHIVE_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".tar.gz", "tar"),
    (".tar.bz2", "tar"),
    (".tar.xz", "tar"),
    (".tgz", "tar"),
    (".tbz2", "tar"),
    (".txz", "tar"),
    (".tar", "tar"),
    (".zip", "zip"),
    (".7z", "7z"),
    (".gz", "gzip"),
    (".bz2", "bz2"),
    (".xz", "xz"),
)
_SINGLE_STREAM = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
_PY7ZR_PIN = "py7zr==1.1.4"


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds on what a download may unpack to: member count, uncompressed bytes, depth of nested archives.

    The counts and bytes add up over the download and every archive nested in it, so a bomb hidden one level
    down hits the same bound. Zip, tar and 7z members are charged their declared size before they are written
    and never inflate past it; single-stream files (.gz, .bz2, .xz) declare nothing reliable and are charged
    as they decompress. The defaults fit the largest MLE-bench competitions (millions of images, a few hundred
    GB). `max_depth` is how many levels of archives inside the download are unpacked; a deeper one is refused.
    """

    max_members: int = 5_000_000
    max_total_bytes: int = 1 << 40  # 1 TiB
    max_depth: int = 3


@dataclass(frozen=True)
class NestedArchive:
    """One archive found inside the download and unpacked in place; paths are relative to files/."""

    archive: str  # where it was, e.g. "train.csv.zip" or "data/train.tar.gz" (it is removed once unpacked)
    kind: str  # zip | tar | gzip | bz2 | xz | 7z
    into: str  # the directory its members went to ("." for the top of files/)
    files: int  # files it added (members identical to files already there are not counted)
    bytes: int  # uncompressed bytes of its files


@dataclass(frozen=True)
class Extraction:
    """What `extract_download` left in its destination."""

    files: int  # regular files in the final tree (unpacked nested archives no longer counted)
    nested: tuple[NestedArchive, ...]


class _Budget:
    """Members and uncompressed bytes charged so far, across the download and its nested archives."""

    def __init__(self, limits: ExtractionLimits) -> None:
        self.limits = limits
        self.members = 0
        self.bytes = 0

    def charge(self, label: str, *, members: int = 0, size: int = 0, nested: bool = True) -> None:
        """Add to the totals; UnsafeArchiveError naming `label` as soon as a bound is passed."""
        self.members += members
        self.bytes += size
        scope = " (counted across the download and its nested archives)" if nested else ""
        if self.members > self.limits.max_members:
            raise UnsafeArchiveError(
                f"{label}: {self.members} members exceed the limit of {self.limits.max_members}{scope}"
            )
        if self.bytes > self.limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"{label}: {self.bytes} uncompressed bytes exceed the limit of {self.limits.max_total_bytes}{scope}"
            )


@dataclass
class _Written:
    """Files one extraction wrote (relative keys of the ones that are archives themselves, for the next level)."""

    files: int = 0
    bytes: int = 0
    archives: list[str] = field(default_factory=list)

    def add(self, key: str, size: int) -> None:
        self.files += 1
        self.bytes += size
        if archive_kind(key) is not None and not _mac_metadata(key):
            self.archives.append(key)


def sha256_file(path: Path) -> str:
    """sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def zip_problem(path: Path) -> str | None:
    """Why `path` is not an intact zip (unreadable directory, CRC failure), or None when every member checks."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except NotImplementedError as exc:
        raise UnsupportedArchiveError(
            f"{path}: {exc}; extract it with a tool that supports that method (e.g. `7z x`)"
        ) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        return f"not a readable zip archive ({type(exc).__name__}: {exc})"
    if bad is not None:
        return f"member {bad!r} fails its CRC check"
    return None


def archive_kind(name: str) -> tuple[str, str] | None:
    """(kind, stem) when a file name ends like an archive ("train.csv.zip" -> ("zip", "train.csv")), else None."""
    base = PurePosixPath(name).name
    lower = base.lower()
    for suffix, kind in _ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(base) > len(suffix):
            return kind, base[: -len(suffix)]
    return None


def _mac_metadata(key: str) -> bool:
    """macOS metadata that archivers sweep in (__MACOSX/, AppleDouble ._ files, .DS_Store): never data."""
    parts = key.split("/")
    return parts[0] == "__MACOSX" or parts[-1].startswith("._") or parts[-1] == ".DS_Store"


def _member_path(name: str, archive: Path | str) -> PurePosixPath:
    """A member's path relative to the extraction dir; refuses absolute paths, drive letters and `..`."""
    if "\x00" in name:
        raise UnsafeArchiveError(f"{archive}: member name {name!r} holds a NUL byte")
    normalized = name.replace("\\", "/")  # archives made on Windows may use backslashes as separators
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing to extract")
    parts = [part for part in normalized.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} climbs out of the target dir ('..'); refusing")
    if not parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an empty path")
    return PurePosixPath(*parts)


class _MemberPaths:
    """Safe relative paths of one archive's members; refuses a path given twice or used as file and directory."""

    def __init__(self, label: Path | str) -> None:
        self.label = label
        self.files: set[str] = set()
        self.dirs: set[str] = set()

    def add(self, name: str, *, is_dir: bool) -> str:
        path = _member_path(name, self.label)
        key = path.as_posix()
        dirs = [parent.as_posix() for parent in path.parents if parent != PurePosixPath(".")]
        if is_dir:
            dirs.append(key)
        else:
            if key in self.files:
                raise UnsafeArchiveError(f"{self.label}: member {key!r} appears twice")
            if key in self.dirs:
                raise UnsafeArchiveError(f"{self.label}: {key!r} is both a file and a directory")
            self.files.add(key)
        for directory in dirs:
            if directory in self.files:
                raise UnsafeArchiveError(f"{self.label}: {directory!r} is both a file and a directory")
        self.dirs.update(dirs)
        return key


def _zip_members(
    archive: Path, label: Path | str, budget: _Budget, *, nested: bool
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Every member of a zip with its safe relative path, charged to `budget`; refuses links and special files."""
    with zipfile.ZipFile(archive) as handle:
        infos = handle.infolist()
    budget.charge(str(label), members=len(infos), size=sum(info.file_size for info in infos), nested=nested)
    paths = _MemberPaths(label)
    members: list[tuple[zipfile.ZipInfo, str]] = []
    for info in infos:
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeArchiveError(f"{label}: member {info.filename!r} is a symbolic link; refusing to extract")
        # Only Unix-made zips carry a file type in the high bits; elsewhere they may hold anything.
        if info.create_system == 3 and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise UnsafeArchiveError(f"{label}: member {info.filename!r} is a device or special file; refusing")
        members.append((info, paths.add(info.filename, is_dir=info.is_dir())))
    return members


def check_archive(archive: Path, limits: ExtractionLimits = ExtractionLimits()) -> list[tuple[zipfile.ZipInfo, str]]:
    """Every member with its safe relative path, or UnsafeArchiveError naming the first offending member."""
    return _zip_members(archive, archive, _Budget(limits), nested=False)


def _write_member(source: IO[bytes], target: Path) -> None:
    """Copy one member to a new file; the extraction dir is fresh and member paths unique, so none is replaced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("xb") as sink:
        shutil.copyfileobj(source, sink, _CHUNK)


def _extract_zip(archive: Path, destination: Path, label: str, budget: _Budget, *, nested: bool) -> _Written:
    """Check every member of a zip, then write it under `destination`."""
    members = _zip_members(archive, label, budget, nested=nested)
    written = _Written()
    with zipfile.ZipFile(archive) as handle:
        for info, key in members:
            if nested and _mac_metadata(key):
                continue
            target = destination / key
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            with handle.open(info) as source:
                _write_member(source, target)
            written.add(key, info.file_size)
    return written


def _extract_tar(archive: Path, destination: Path, label: str, budget: _Budget) -> _Written:
    """Stream a (compressed) tar once, checking and charging each member before it is written."""
    paths = _MemberPaths(label)
    written = _Written()
    # Stream mode ("r|*") reads the archive front to back once: no second decompression pass to list it first.
    with tarfile.open(archive, mode="r|*") as handle:
        for member in handle:
            if member.issym() or member.islnk():
                raise UnsafeArchiveError(f"{label}: member {member.name!r} is a link; refusing to extract")
            if not (member.isreg() or member.isdir()):
                raise UnsafeArchiveError(f"{label}: member {member.name!r} is a device or special file; refusing")
            budget.charge(label, members=1, size=member.size if member.isreg() else 0)
            key = paths.add(member.name, is_dir=member.isdir())
            if _mac_metadata(key):
                continue
            target = destination / key
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            source = handle.extractfile(member)
            assert source is not None  # a regular member always has a body
            with source:
                _write_member(source, target)
            written.add(key, member.size)
    return written


def _gzip_original_name(archive: Path) -> str | None:
    """The file name recorded in a gzip header (FNAME, RFC 1952), or None."""
    with archive.open("rb") as handle:
        header = handle.read(10)
        if len(header) < 10 or header[:3] != b"\x1f\x8b\x08" or not header[3] & 0x08:
            return None
        if header[3] & 0x04:  # FEXTRA comes first: a 2-byte length, then that many bytes
            extra = handle.read(2)
            if len(extra) < 2:
                return None
            handle.seek(int.from_bytes(extra, "little"), os.SEEK_CUR)
        name = bytearray()
        while len(name) < 4096:
            byte = handle.read(1)
            if byte in (b"", b"\x00"):
                break
            name += byte
    return name.decode("latin-1") or None


def _stream_name(archive: Path, kind: str, stem: str) -> str:
    """The unpacked name of a single compressed file: its name minus the suffix, or gzip's FNAME when that only
    adds an extension ("train.gz" made from "train.csv" -> "train.csv")."""
    if kind == "gzip":
        original = _gzip_original_name(archive)
        plain = original is not None and "/" not in original and "\\" not in original
        if plain and original is not None and original.startswith(stem + ".") and len(original) > len(stem) + 1:
            return original
    return stem


def _extract_stream(archive: Path, destination: Path, name: str, kind: str, label: str, budget: _Budget) -> _Written:
    """Decompress one .gz/.bz2/.xz file, charging its bytes as they come (it declares no reliable size)."""
    budget.charge(label, members=1)
    size = 0
    target = destination / _member_path(name, label).as_posix()
    with _SINGLE_STREAM[kind](archive, "rb") as source, target.open("xb") as sink:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            budget.charge(label, size=len(chunk))
            sink.write(chunk)
            size += len(chunk)
    written = _Written()
    written.add(name, size)
    return written


def _extract_7z(archive: Path, destination: Path, label: str, budget: _Budget) -> _Written:
    """Check and extract a 7-Zip archive with py7zr (an optional dependency, imported only when one is met)."""
    try:
        import py7zr
        from py7zr.exceptions import ArchiveError, DecompressionBombError, PasswordRequired
    except ImportError:
        raise UnsupportedArchiveError(
            f"{label} is a 7-Zip archive: reading it needs the py7zr package, which is not installed "
            f"(pip install '{_PY7ZR_PIN}'), or unpack it by hand with `7z x`"
        ) from None
    paths = _MemberPaths(label)
    declared = 0
    try:
        # max_extract_size makes py7zr itself stop at the remaining budget, whatever the headers claim.
        remaining = max(budget.limits.max_total_bytes - budget.bytes, 0)
        with py7zr.SevenZipFile(archive, mode="r", max_extract_size=remaining) as handle:
            if handle.needs_password():
                raise UnsupportedArchiveError(f"{label} is a password-protected 7-Zip archive; cannot unpack it")
            entries = list(handle.files)
            declared = sum(int(entry.uncompressed or 0) for entry in entries)
            budget.charge(label, members=len(entries), size=declared)
            for entry in entries:
                if entry.is_symlink or entry.is_junction:
                    raise UnsafeArchiveError(f"{label}: member {entry.filename!r} is a link; refusing to extract")
                kind = entry.st_fmt
                if entry.is_socket or (kind is not None and not (stat.S_ISREG(kind) or stat.S_ISDIR(kind))):
                    raise UnsafeArchiveError(
                        f"{label}: member {entry.filename!r} is a device or special file; refusing"
                    )
                paths.add(entry.filename, is_dir=entry.is_directory)
            handle.extractall(path=destination)
    except DecompressionBombError as exc:
        raise UnsafeArchiveError(f"{label}: {exc} (the uncompressed bytes left in the budget)") from None
    except (ArchiveError, PasswordRequired) as exc:
        raise _unreadable(label, "7z", exc) from None
    return _walk_extracted(destination, label, declared)


def _walk_extracted(root: Path, label: str, declared: int) -> _Written:
    """Check a tree a third-party extractor wrote: only files and dirs, no more bytes than declared; drop macOS
    metadata and reset permissions (7z archives carry modes that could make files unreadable)."""
    written = _Written()

    def fail(error: OSError) -> None:
        raise error

    for current, dirnames, filenames in os.walk(root, onerror=fail):
        base = Path(current)
        for name in [*dirnames, *filenames]:
            path = base / name
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise UnsafeArchiveError(f"{label}: {path.relative_to(root)} unpacked as a link or special file")
            path.chmod(0o755 if stat.S_ISDIR(mode) else 0o644)
        for name in list(dirnames):
            if _mac_metadata(f"{(base / name).relative_to(root).as_posix()}/x"):
                shutil.rmtree(base / name)
                dirnames.remove(name)
        for name in filenames:
            key = (base / name).relative_to(root).as_posix()
            if _mac_metadata(key):
                (base / name).unlink()
                continue
            written.add(key, (base / name).stat().st_size)
    if written.bytes > declared:
        raise UnsafeArchiveError(f"{label}: unpacked to {written.bytes} bytes, more than the {declared} it declares")
    return written


def _unreadable(label: str, kind: str, exc: BaseException) -> CorruptDownloadError:
    """The error for a nested archive that cannot be read: downloading again would not help."""
    return CorruptDownloadError(
        f"{label} cannot be read as a {kind} archive ({type(exc).__name__}: {exc}). The download itself is intact "
        "(its CRCs check), so the competition ships this file damaged or under a misleading name; unpack it by "
        "hand or leave the competition out."
    )


def _merge(source: Path, target: Path, label: str, files_root: Path) -> int:
    """Move the staged tree `source` into `target`, merging directories; never replaces anything already there.

    A staged file identical to the one already there is dropped (some downloads ship a folder and its zip);
    returns how many were. A different one is refused.
    """
    try:
        target.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        where = target.relative_to(files_root).as_posix()
        raise UnsafeArchiveError(f"{label}: unpacking it needs the directory {where!r}, a file already there") from None
    same = 0
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        if not os.path.lexists(destination):
            os.rename(entry, destination)
        elif entry.is_dir() and destination.is_dir() and not destination.is_symlink():
            same += _merge(entry, destination, label, files_root)
        elif entry.is_file() and _same_file_content(entry, destination):
            same += 1
        else:
            where = destination.relative_to(files_root).as_posix()
            raise UnsafeArchiveError(f"{label}: unpacking it would overwrite {where!r} with other content; refusing")
    return same


def _same_file_content(staged: Path, existing: Path) -> bool:
    """Whether `existing` is a regular file (not a link) with exactly the staged bytes."""
    if existing.is_symlink() or not existing.is_file() or existing.stat().st_size != staged.stat().st_size:
        return False
    with staged.open("rb") as a, existing.open("rb") as b:
        while True:
            left, right = a.read(_CHUNK), b.read(_CHUNK)
            if left != right:
                return False
            if not left:
                return True


def _unpack_nested(files_root: Path, key: str, label: str, budget: _Budget) -> tuple[NestedArchive, list[str]]:
    """Unpack the archive files_root/key beside itself (naming rules in `extract_download`), then remove it."""
    found = archive_kind(key)
    assert found is not None
    kind, stem = found
    archive = files_root / key
    parent = archive.parent
    staging = parent / f".unpack-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        try:
            if kind == "zip":
                written = _extract_zip(archive, staging, label, budget, nested=True)
            elif kind == "tar":
                written = _extract_tar(archive, staging, label, budget)
            elif kind == "7z":
                written = _extract_7z(archive, staging, label, budget)
            else:
                written = _extract_stream(archive, staging, _stream_name(archive, kind, stem), kind, label, budget)
        except NotImplementedError as exc:  # zipfile on Deflate64 and other methods it lacks
            raise UnsupportedArchiveError(f"{label}: {exc}; unpack it by hand with `7z x`") from None
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError) as exc:
            raise _unreadable(label, kind, exc) from None
        except OSError as exc:
            if exc.errno is not None:  # a real I/O failure (disk full, permissions): not the archive's fault
                raise
            raise _unreadable(label, kind, exc) from None  # gzip/bz2 report bad data as OSError without errno
        top = sorted(path.name for path in staging.iterdir())
        beside = kind in _SINGLE_STREAM or written.files == 1 or (top == [stem] and (staging / stem).is_dir())
        target = parent if beside else parent / stem
        archive.unlink()  # before the merge: a member may carry the archive's own name
        already_there = _merge(staging, target, label, files_root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    into = target.relative_to(files_root).as_posix()
    prefix = "" if into == "." else f"{into}/"
    # Files that were already there, byte for byte, were neither added nor replaced.
    record = NestedArchive(archive=key, kind=kind, into=into, files=written.files - already_there, bytes=written.bytes)
    return record, [prefix + inner for inner in written.archives]


def extract_download(archive: Path, destination: Path, limits: ExtractionLimits = ExtractionLimits()) -> Extraction:
    """Extract the downloaded zip into the existing dir `destination`, then unpack every archive inside it in place.

    Contract:
    - Archives are recognized by name: .zip, .tar, .tar.gz/.tgz, .tar.bz2/.tbz2, .tar.xz/.txz, .7z (through the
      optional py7zr package; UnsupportedArchiveError naming the file and the package when it is missing), and
      the single compressed files .gz, .bz2, .xz. Archives found inside unpacked ones are unpacked too, down to
      `limits.max_depth` levels below the download; a deeper one is refused.
    - Safety is that of the download itself at every level: no absolute paths, no `..`, no links or special
      files, no member given twice or as both file and directory, no member replacing a different file already
      there; member count and uncompressed bytes are bounded by `limits` over all levels together. Failures
      raise mid-way: callers extract into a temp dir and rename it into place only on success.
    - Names: a single compressed file loses its suffix (train.csv.gz -> train.csv; train.gz -> train, or the
      name in its gzip header when that only adds an extension: train.gz made from train.csv -> train.csv).
      A zip, tar or 7z archive goes beside itself when it holds exactly one file, at that member's own path
      (train.csv.zip -> train.csv, test.zip holding sorted_test.csv -> sorted_test.csv, train.json.7z holding
      data/processed/train.json -> data/processed/train.json), or when all its members are under one top folder
      named like its stem (train.zip holding train/1.jpg -> train/1.jpg); otherwise into a new folder named
      after its stem (train.zip holding 1.jpg, 2.jpg -> train/1.jpg, train/2.jpg). Folders merge with ones
      already there; a member identical to a file already there is dropped, a different one is refused. macOS
      metadata (__MACOSX/, ._* files, .DS_Store) inside nested archives is dropped.
    - An unpacked archive is removed: the download zip stays in the cache, so the tree can always be rebuilt
      from it, and keeping both would double the disk a competition takes. `Extraction.nested` says what each
      one became, in the order unpacked.
    """
    budget = _Budget(limits)
    written = _extract_zip(archive, destination, str(archive), budget, nested=False)
    files = written.files
    queue = deque((key, 1) for key in sorted(written.archives))
    nested: list[NestedArchive] = []
    while queue:
        key, depth = queue.popleft()
        label = f"{key!r} (inside {archive.name})"
        if depth > limits.max_depth:
            raise UnsafeArchiveError(
                f"{label} is an archive nested {depth} levels deep, past the limit of {limits.max_depth}; refusing"
            )
        record, inner = _unpack_nested(destination, key, label, budget)
        nested.append(record)
        files += record.files - 1
        queue.extend((inner_key, depth + 1) for inner_key in sorted(inner))
    return Extraction(files=files, nested=tuple(nested))


def safe_extract(archive: Path, destination: Path, limits: ExtractionLimits = ExtractionLimits()) -> int:
    """Extract a zip into the existing dir `destination` after checking every member; return the file count.

    Only this zip: archives inside it stay as they are (`extract_download` unpacks those too).
    """
    return _extract_zip(archive, destination, str(archive), _Budget(limits), nested=False).files


# ---------------------------------------------------------------------------------------------------------------
# The client


@dataclass(frozen=True)
class CompetitionInfo:
    """What Kaggle's competition list says about one competition."""

    slug: str
    title: str | None
    deadline: datetime | None
    team_count: int
    rules_accepted: bool  # Kaggle's `userHasEntered`: accepting the rules is what enters an account


@dataclass(frozen=True)
class DataFile:
    """One file of a competition's data, as listed by Kaggle."""

    name: str
    bytes: int


@dataclass(frozen=True)
class LeaderboardEntry:
    """One team's line on a Kaggle leaderboard, in board order; the team name is deliberately not kept."""

    team_id: int
    score: str | None  # as Kaggle sends it (a string, may be empty)
    submission_date: datetime | None


@dataclass(frozen=True)
class DownloadResult:
    """A competition's files on disk: the cached archive (with its sha256) and the extracted dir."""

    slug: str
    archive: Path
    sha256: str
    bytes: int
    files_dir: Path
    files: int
    cached: bool  # True when the archive was already present and intact (no download happened)
    extracted: bool  # True when files_dir was (re)written in this call
    nested: tuple[NestedArchive, ...] = ()  # the archives inside the download that were unpacked in place


class KaggleClient:
    """Kaggle competitions through the `kaggle` 2.x client, with credentials, retries and a download cache.

    Contract:
    - Credentials are `credentials` if given, else found by `find_credentials()` at the first call; none found
      raises CredentialsError before any request. Secrets never reach logs, reprs or error messages.
    - Errors are KaggleError subclasses: 401 -> CredentialsError, 403 -> RulesNotAcceptedError (with the rules
      URL), 404 -> CompetitionNotFoundError; 429 / 5xx / connection errors are retried with `retry`'s
      exponential backoff and end in KaggleUnavailableError when its attempts or total time run out.
    - `download(slug, raw_dir)` keeps the archive in raw_dir/download/<slug>.zip with its sha256 in
      raw_dir/download/manifest.json; an archive whose sha256 still matches is not downloaded again. A corrupt
      or truncated archive is downloaded once more, then CorruptDownloadError. Files are extracted into
      raw_dir/files/ atomically by `extract_download`, nested archives included (those are then removed from
      files/; the manifest lists them under "nested"). files/ is rebuilt only when it is missing, the archive's
      sha256 changed, or EXTRACTION_VERSION did (so a cache made before nested unpacking is unpacked again).
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        retry: RetryPolicy | None = None,
        limits: ExtractionLimits | None = None,
        page_size: int = 200,
    ) -> None:
        self._credentials = credentials
        self.retry = retry or RetryPolicy()
        self.limits = limits or ExtractionLimits()
        self.page_size = page_size

    def __repr__(self) -> str:
        source = self._credentials.source if self._credentials else "auto"
        return f"KaggleClient(credentials={source!r}, retry={self.retry!r})"

    @property
    def credentials(self) -> Credentials:
        """The credentials in use; CredentialsError with instructions when there are none."""
        if self._credentials is None:
            found = find_credentials()
            if found is None:
                raise CredentialsError(f"no Kaggle credentials found. {credentials_help()}")
            self._credentials = found
        return self._credentials

    def _api(self) -> Any:
        """A fresh KaggleApi carrying this client's credentials explicitly (its own login is never run)."""
        api = _kaggle_api_class()()
        api.args = _client_args()
        creds = self.credentials
        if creds.token:
            api.config_values = {"token": creds.token}
        else:
            api.config_values = {"username": creds.username, "key": creds.key}
        return api

    def _call(self, slug: str, what: str, fn: Callable[[Any], T]) -> T:
        """Run `fn(api)` with retries on transient failures and Kaggle's HTTP errors mapped to KaggleErrors."""
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn(self._api())
            except requests.HTTPError as exc:
                status = _http_status(exc)
                if status == 401:
                    raise CredentialsError(
                        f"Kaggle rejected the {self.credentials.kind} from {self.credentials.source} while trying "
                        f"to {what} {slug!r} (HTTP 401): it is missing, wrong or expired. {credentials_help()}"
                    ) from None
                if status == 403:
                    raise RulesNotAcceptedError(slug, _server_message(exc)) from None
                if status == 404:
                    raise CompetitionNotFoundError(slug) from None
                if status is None or not (status == 429 or 500 <= status < 600):
                    raise KaggleResponseError(
                        f"Kaggle answered HTTP {status} while trying to {what} {slug!r}: {_server_message(exc)}"
                    ) from None
                problem, wait_hint = f"HTTP {status} ({_server_message(exc)})", _retry_after(exc)
            except _TRANSIENT_ERRORS as exc:
                problem, wait_hint = f"{type(exc).__name__}", None
            delay = max(self.retry.delay(attempt), wait_hint or 0.0)
            elapsed = time.monotonic() - start
            if attempt >= self.retry.max_attempts or elapsed + delay > self.retry.max_total_seconds:
                raise KaggleUnavailableError(
                    f"gave up trying to {what} {slug!r} after {attempt} attempts in {elapsed:.1f}s "
                    f"(retry budget {self.retry.max_attempts} attempts / {self.retry.max_total_seconds:g}s); "
                    f"last error: {problem}. Kaggle may be rate-limiting or down: retry later."
                )
            time.sleep(delay)

    # --- queries ---------------------------------------------------------------------------------------------

    def competition(self, slug: str) -> CompetitionInfo | None:
        """The competition's entry in Kaggle's list (found by searching its slug), or None when not listed.

        Kaggle's list leaves out most ended competitions, so None does not mean the slug is unknown:
        `download_size` is the reliable probe.
        """

        def search(api: Any) -> list[Any]:
            found: list[Any] = []
            token: str | None = None
            for _ in range(_MAX_PAGES):
                response = api.competitions_list(search=slug, page_size=self.page_size, page_token=token)
                found.extend(response.competitions or [])
                token = response.next_page_token or None
                if token is None or any(_ref_slug(item.ref) == slug for item in found):
                    break
            return found

        for item in self._call(slug, "look up competition", search):
            if _ref_slug(item.ref) == slug:
                return CompetitionInfo(
                    slug=slug,
                    title=item.title,
                    deadline=item.deadline,
                    team_count=int(item.team_count or 0),
                    rules_accepted=bool(item.user_has_entered),
                )
        return None

    def download_size(self, slug: str) -> int | None:
        """Ask for the competition's archive without reading it: its size in bytes (None if not announced).

        The request is the download's own (DownloadDataFiles and its redirect, headers only), so it fails
        exactly as a download would: 401 credentials, 403 rules not accepted, 404 unknown competition.
        """

        def probe(api: Any) -> int | None:
            from kagglesdk.competitions.types.competition_api_service import ApiDownloadDataFilesRequest

            request = ApiDownloadDataFilesRequest()
            request.competition_name = slug
            with api.build_kaggle_client() as kaggle:
                # The client streams redirect responses, so closing it here leaves the body unread.
                response = kaggle.competitions.competition_api_client.download_data_files(request)
                try:
                    length = response.headers.get("Content-Length", "")
                    return int(length) if length.isdigit() else None
                finally:
                    response.close()

        return self._call(slug, "check the download of", probe)

    def data_files(self, slug: str) -> list[DataFile]:
        """The competition's data files and their sizes."""

        def list_files(api: Any) -> list[DataFile]:
            files: list[DataFile] = []
            token: str | None = None
            for _ in range(_MAX_PAGES):
                response = api.competition_list_files(slug, page_token=token, page_size=self.page_size)
                files.extend(DataFile(name=item.name, bytes=int(item.total_bytes or 0)) for item in response.files)
                token = response.next_page_token or None
                if token is None:
                    break
            return files

        return self._call(slug, "list the files of", list_files)

    def leaderboard(self, slug: str, *, public: bool) -> list[LeaderboardEntry]:
        """A leaderboard in rank order: the public one, or Kaggle's default (private once the competition ended)."""

        def fetch(api: Any) -> list[LeaderboardEntry]:
            from kagglesdk.competitions.types.competition_api_service import ApiGetLeaderboardRequest

            entries: list[LeaderboardEntry] = []
            token: str | None = None
            with api.build_kaggle_client() as kaggle:
                for _ in range(_MAX_PAGES):
                    request = ApiGetLeaderboardRequest()
                    request.competition_name = slug
                    if public:
                        request.override_public = True
                    request.page_size = self.page_size
                    if token:
                        request.page_token = token
                    response = kaggle.competitions.competition_api_client.get_leaderboard(request)
                    entries.extend(
                        LeaderboardEntry(team_id=int(s.team_id), score=s.score, submission_date=s.submission_date)
                        for s in response.submissions
                    )
                    token = response.next_page_token or None
                    if token is None:
                        break
            return entries

        board = "public leaderboard" if public else "leaderboard"
        return self._call(slug, f"read the {board} of", fetch)

    # --- download --------------------------------------------------------------------------------------------

    def download(self, slug: str, raw_dir: Path) -> DownloadResult:
        """The competition's files in raw_dir/files/, downloading only when the cached archive is missing or bad."""
        download_dir = raw_dir / "download"
        archive = download_dir / f"{slug}.zip"
        manifest = read_manifest(download_dir)
        cached = manifest is not None and manifest.get("archive") == archive.name and archive_intact(archive, manifest)
        if cached:
            assert manifest is not None
            digest, size = manifest["sha256"], int(manifest["bytes"])
        else:
            digest, size = self._fetch_verified(slug, download_dir, archive)
            manifest = {"slug": slug, "archive": archive.name, "sha256": digest, "bytes": size}
            manifest["downloaded_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            write_manifest(download_dir, manifest)
        files_dir = raw_dir / "files"
        extracted = False
        current = manifest.get("extracted_sha256") == digest and manifest.get("extraction") == EXTRACTION_VERSION
        if not current or not files_dir.is_dir():
            with atomic_dir(files_dir) as tmp:
                extraction = extract_download(archive, tmp, self.limits)
            manifest = {
                **manifest,
                "extracted_sha256": digest,
                "extraction": EXTRACTION_VERSION,
                "files": extraction.files,
                "nested": [asdict(item) for item in extraction.nested],
            }
            write_manifest(download_dir, manifest)
            extracted = True
        return DownloadResult(
            slug=slug,
            archive=archive,
            sha256=digest,
            bytes=size,
            files_dir=files_dir,
            files=int(manifest["files"]),
            cached=cached,
            extracted=extracted,
            nested=tuple(NestedArchive(**item) for item in manifest.get("nested", [])),
        )

    def _fetch_verified(self, slug: str, download_dir: Path, archive: Path) -> tuple[str, int]:
        """Download into a temp dir, check the zip, move it into place; one fresh retry when it is corrupt."""
        problems: list[str] = []
        for _ in range(2):
            staging = download_dir / f".partial-{uuid.uuid4().hex[:12]}"
            try:
                fetched = self._fetch_once(slug, staging)
                problem = zip_problem(fetched)
                if problem is None:
                    digest, size = sha256_file(fetched), fetched.stat().st_size
                    os.replace(fetched, archive)
                    return digest, size
                problems.append(problem)
            except _ShortDownload as exc:
                problems.append(str(exc))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        raise CorruptDownloadError(
            f"the archive of {slug!r} was corrupt or truncated twice in a row ({'; then '.join(problems)}); "
            f"nothing was kept. Retry later; if it persists, download it by hand from "
            f"{KAGGLE_WEB}/competitions/{slug}/data into {download_dir}."
        )

    def _fetch_once(self, slug: str, staging: Path) -> Path:
        """One download of the competition bundle with the `kaggle` client into the empty dir `staging`."""

        def fetch(api: Any) -> Path:
            if staging.exists():
                shutil.rmtree(staging)  # a retried attempt starts from nothing, never from a partial file
            staging.mkdir(parents=True)
            try:
                api.competition_download_files(slug, path=str(staging), force=True, quiet=True)
            except ValueError as exc:
                # The client raises ValueError when fewer bytes arrive than Content-Length announced.
                raise _ShortDownload(f"short download: {exc}") from None
            return _downloaded_file(staging, slug)

        return self._call(slug, "download the files of", fetch)


class _ShortDownload(Exception):
    """The client itself saw fewer bytes than announced; counts as one corrupt attempt."""


def _ref_slug(ref: str | None) -> str:
    """A competition's slug from the list's `ref` (a slug or a URL ending in /competitions/<slug>)."""
    return (ref or "").rstrip("/").rsplit("/", 1)[-1]


def _downloaded_file(staging: Path, slug: str) -> Path:
    """The one archive the client wrote into `staging` (ignoring its resume markers)."""
    written = [path for path in staging.iterdir() if not path.name.endswith(".kaggle-partial")]
    if len(written) != 1:
        raise CorruptDownloadError(f"download of {slug!r} produced {[p.name for p in written]}, expected one zip")
    if written[0].suffix != ".zip":
        raise UnsupportedArchiveError(
            f"Kaggle served {slug!r} as {written[0].name!r}, not a zip archive; download it by hand from "
            f"{KAGGLE_WEB}/competitions/{slug}/data"
        )
    return written[0]


# ---------------------------------------------------------------------------------------------------------------
# The download manifest


def read_manifest(download_dir: Path) -> dict[str, Any] | None:
    """raw/<slug>/download/manifest.json, or None when absent or unreadable (the cache is then rebuilt)."""
    path = download_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), str) or "bytes" not in data:
        return None
    return data


def write_manifest(download_dir: Path, manifest: Mapping[str, Any]) -> None:
    """Write the manifest atomically."""
    atomic_write_bytes(download_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def archive_intact(archive: Path, manifest: Mapping[str, Any], *, verify: bool = True) -> bool:
    """Whether the archive exists with the recorded size and (if verify) the recorded sha256."""
    try:
        if archive.stat().st_size != int(manifest["bytes"]):
            return False
    except (OSError, KeyError, ValueError):
        return False
    return not verify or sha256_file(archive) == manifest["sha256"]


def cached_archive(slug: str, raw_dir: Path, *, verify: bool = False) -> Path | None:
    """The cached archive of `slug` under raw_dir/download when it matches its manifest, else None."""
    download_dir = raw_dir / "download"
    manifest = read_manifest(download_dir)
    archive = download_dir / f"{slug}.zip"
    if manifest is None or manifest.get("archive") != archive.name:
        return None
    return archive if archive_intact(archive, manifest, verify=verify) else None
