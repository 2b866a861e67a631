"""The build's secret salt, kept outside the public tree: it keys every id, file name and split hash.

Without it, an id or a row's side could be recomputed from the public files and this repository, and some
of them are functions of the answers (a hash over the labeled cells, a permutation seeded by the slug).
The salt lives in `$DOJO_HOME/secret.key` (32 random bytes, mode 0600, created on first use). Setting
`DOJO_SECRET` to hex digits (16 to 64 bytes, e.g. `xxd -p -c 64 secret.key` of another machine) uses those
bytes instead, so two machines build byte-identical tasks. Records hold only the salt's sha256.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from pathlib import Path

from curation.layout import Home

SECRET_FILE = "secret.key"
SECRET_ENV = "DOJO_SECRET"
SALT_BYTES = 32
MIN_SALT_BYTES = 16
MAX_SALT_BYTES = 64  # the longest key blake2b takes
MAX_PURPOSE_BYTES = 16  # blake2b's personalization field


class SecretError(Exception):
    """The secret salt is missing, malformed or readable by others; the message says where."""


def _from_env(value: str) -> bytes:
    try:
        salt = bytes.fromhex(value.strip())
    except ValueError as exc:
        raise SecretError(f"{SECRET_ENV}: expected hex digits, got {len(value)} characters that are not hex") from exc
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
        raise SecretError(f"{SECRET_ENV}: {len(salt)} bytes; it must hold {MIN_SALT_BYTES} to {MAX_SALT_BYTES} bytes")
    return salt


def _read(path: Path) -> bytes:
    """The salt stored at `path`, refused when group or others may read it or its size is wrong."""
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise SecretError(f"{path}: not a regular file")
    if info.st_mode & 0o077:
        raise SecretError(f"{path}: mode {stat.S_IMODE(info.st_mode):04o} lets others read it; chmod 600 it")
    salt = path.read_bytes()
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
        raise SecretError(f"{path}: {len(salt)} bytes; a salt holds {MIN_SALT_BYTES} to {MAX_SALT_BYTES} bytes")
    return salt


def _create(path: Path) -> None:
    """Write 32 random bytes to `path` unless it exists; a concurrent creator's file wins, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(SALT_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails when the name exists, like O_CREAT|O_EXCL, but publishes a complete file.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def salt(home: Home) -> bytes:
    """The secret salt of `home`: $DOJO_SECRET (hex) when set, else secret.key, created on first use."""
    value = os.environ.get(SECRET_ENV)
    if value is not None:
        return _from_env(value)
    path = home.root / SECRET_FILE
    if not path.exists():
        _create(path)
    return _read(path)


def salt_sha256(secret: bytes) -> str:
    """sha256 hex of the salt: what task.json and release manifests record, never the salt itself."""
    return hashlib.sha256(secret).hexdigest()


def keyed_digest(secret: bytes, purpose: str, data: bytes, size: int = 8) -> bytes:
    """blake2b of `data` keyed by the salt, personalized by `purpose` so each use draws independent values."""
    person = purpose.encode()
    if len(person) > MAX_PURPOSE_BYTES:
        raise ValueError(f"purpose {purpose!r} is longer than {MAX_PURPOSE_BYTES} bytes")
    return hashlib.blake2b(data, digest_size=size, key=secret, person=person).digest()


def keyed_hex(secret: bytes, purpose: str, text: str, size: int = 8) -> str:
    """`keyed_digest` of a text as hex: 16 hex digits by default."""
    return keyed_digest(secret, purpose, text.encode(), size).hex()


def keyed_seed(secret: bytes, purpose: str, text: str) -> int:
    """A 64-bit seed for a random generator, drawn by `keyed_digest`: secret, yet the same for the same salt."""
    return int.from_bytes(keyed_digest(secret, purpose, text.encode()), "little")
