"""The mesh's key for pseudonymising personal data: `shared_macros.hash_pii` is HMAC-SHA-256
with this key, so a published hash cannot be recomputed from a list of candidate values by
anyone who reads the repository.

The key is never in the repository, in SQL or in anything published. It is taken from the
environment variable MESH_PII_KEY when set (hexadecimal, at least 32 bytes: 64 hex digits,
for example `python -c "import secrets; print(secrets.token_hex(32))"`), else from the
mesh's key file, `warehouse/secrets/pii.key`, created on first use with owner-only
permissions. Only builds of domains that own PII (tag a column `pii` in their own models or
sources) are handed the key, in MESH_PII_KEY of their dbt worker's environment; the engines
pass it to the database outside the SQL text (DuckDB: `mesh.engines.duckdb.dbt_plugin`;
Spark: a session configuration, profiles.yml). Every other build gets an empty MESH_PII_KEY.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mesh.discovery.domains import Domain, read_yaml
from mesh.errors import MeshError
from mesh.workspace import Mesh

ENV = "MESH_PII_KEY"
KEY_BYTES = 32  # the length of a generated key, and the shortest one accepted
HMAC_BLOCK = 64  # SHA-256's block size: HMAC pads the key to it


class PiiKeyError(MeshError):
    """The PII key in MESH_PII_KEY or the mesh's key file is unusable."""


@dataclass(frozen=True)
class PiiKey:
    """The key, and where it came from (for messages)."""

    secret: bytes = field(repr=False)
    origin: str

    @property
    def fingerprint(self) -> str:
        """What identifies the key in a build's fingerprint without revealing it: a changed
        key rebuilds the domains that own PII, whose hashes change."""
        return hashlib.sha256(b"mesh pii key\n" + self.secret).hexdigest()


def key_file(mesh: Mesh) -> Path:
    """Beside the engines' folders, not in any of them: both engines hash with one key, and
    nothing a build, a publish or a reader copies lies under `secrets/`."""
    return mesh.warehouse / "secrets" / "pii.key"


def parse(text: str, origin: str) -> bytes:
    """The key in `text` (hexadecimal), or PiiKeyError naming `origin`."""
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        secret = b""
    if len(secret) < KEY_BYTES:
        raise PiiKeyError(
            f"The PII key in {origin} is empty or not a key: it must be at least "
            f"{2 * KEY_BYTES} hexadecimal digits ({KEY_BYTES} random bytes)."
        )
    return secret


def load(mesh: Mesh, environ: Mapping[str, str] = os.environ) -> PiiKey:
    """The mesh's key: MESH_PII_KEY when set, else the key file, created on first use."""
    if environ.get(ENV):
        return PiiKey(parse(environ[ENV], f"the environment variable {ENV}"), ENV)
    path = key_file(mesh)
    if not path.exists():
        create_key_file(path)
    return PiiKey(read_key_file(path), str(path))


def create_key_file(path: Path) -> None:
    """Write a new random key to `path` unless one is there: the key is complete in a
    private temporary file before a hard link makes it `path`, and the link fails if another
    build made one first, so concurrent builds all end up reading the same key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another build won: read its key
            os.link(temporary, path)
    except OSError as error:
        raise PiiKeyError(f"The PII key file {path} could not be created: {error}.") from error
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise PiiKeyError(
                f"The PII key file {path} can be read by others (mode "
                f"{stat.S_IMODE(mode):04o}): make it owner-only with `chmod 600 {path}`."
            )
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise PiiKeyError(f"The PII key file {path} could not be read: {error}.") from error
    return parse(text, f"{path} (restore it, or delete it to make a new key)")


def owns_pii(domain: Domain) -> bool:
    """Whether the domain's own models or sources tag a column PII (`tags: [pii]` or `meta:
    {pii: true}`, at the column or under its config): read from the YAML, before any build."""
    models = domain.path / "models"
    for path in sorted([*models.rglob("*.yml"), *models.rglob("*.yaml")]):
        content = read_yaml(path)
        entries = [
            *(content.get("models") or []),
            *(
                table
                for source in content.get("sources") or []
                for table in source.get("tables") or []
            ),
        ]
        if any(_is_pii(column) for entry in entries for column in entry.get("columns") or []):
            return True
    return False


def _is_pii(column: object) -> bool:
    if not isinstance(column, dict):
        return False
    config = column.get("config") or {}
    tags = [*(column.get("tags") or []), *(config.get("tags") or [])]
    metas = [column.get("meta") or {}, config.get("meta") or {}]
    return "pii" in tags or any(meta.get("pii") is True for meta in metas)


def for_build(mesh: Mesh, domain: Domain) -> PiiKey | None:
    """The key a build of `domain` is handed: the mesh's if the domain owns PII, else none."""
    return load(mesh) if owns_pii(domain) else None


def build_env(key: PiiKey | None) -> dict[str, str]:
    """The dbt worker's environment entry for a build handed `key` (or none: empty)."""
    return {ENV: key.secret.hex() if key else ""}


def hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer keys (RFC 2104): with them, HMAC-SHA-256 of a message is
    sha256(outer || sha256(inner || message)), which DuckDB computes with its `sha256`."""
    padded = (hashlib.sha256(secret).digest() if len(secret) > HMAC_BLOCK else secret).ljust(
        HMAC_BLOCK, b"\0"
    )
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)
