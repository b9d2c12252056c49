"""The instance signing key: ECDSA P-256 in a PEM file; its public half (and retired ones) in the database.

The private key never enters the database. By default it is created on first use at
data_dir/keys/signing-key.pem (mode 0600); MAESTRO_SIGNING_KEY_FILE points at one supplied by a
secret store instead. Rotation writes a new key and keeps the old public key for verification.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from maestro.config import Settings
from maestro.domain.supply import SigningKey
from maestro.domain.types import utcnow


class SigningKeyError(Exception):
    """The configured signing key cannot be used."""


def key_path(settings: Settings) -> Path:
    return settings.signing_key_file or settings.data_dir / "keys" / "signing-key.pem"


def public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def keyid_of(key: ec.EllipticCurvePublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_public(pem: str | bytes) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SigningKeyError("the public key is not ECDSA P-256")
    return key


@dataclass(frozen=True)
class InstanceKey:
    private: ec.EllipticCurvePrivateKey
    keyid: str

    @property
    def public(self) -> ec.EllipticCurvePublicKey:
        return self.private.public_key()

    @property
    def public_pem(self) -> str:
        return public_pem(self.public)


def _write_new(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(tmp, path)  # atomic and exclusive: two processes starting together end with one key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise SigningKeyError(f"{path} is not an ECDSA P-256 key (cosign-compatible signatures need P-256)")
    return key


def register(engine: Engine, key: InstanceKey) -> None:
    """Record the public key as the active one; earlier keys stay, retired, for verification."""
    with Session(engine) as s:
        row = s.get(SigningKey, key.keyid)
        if row is None:
            s.add(SigningKey(id=key.keyid, public_pem=key.public_pem))
        elif row.retired_at is not None:
            row.retired_at = None
            s.add(row)
        for other in s.exec(select(SigningKey).where(col(SigningKey.retired_at).is_(None), SigningKey.id != key.keyid)):
            other.retired_at = utcnow()
            s.add(other)
        s.commit()


_cache: dict[tuple[Path, int], InstanceKey] = {}


def instance_key(settings: Settings, engine: Engine) -> InstanceKey:
    """The signing key (created on first use when none is configured), registered in the database."""
    path = key_path(settings)
    if not path.exists():
        if settings.signing_key_file is not None:
            raise SigningKeyError(f"MAESTRO_SIGNING_KEY_FILE={path} does not exist")
        _write_new(path)
    stamp = (path.resolve(), path.stat().st_mtime_ns)
    if stamp not in _cache:
        priv = _read(path)
        key = InstanceKey(priv, keyid_of(priv.public_key()))
        register(engine, key)
        _cache[stamp] = key
    return _cache[stamp]


def rotate(settings: Settings, engine: Engine) -> tuple[str, str]:
    """A new key replaces the current one; the old private key is kept aside, its public key stays valid."""
    path = key_path(settings)
    old = instance_key(settings, engine)
    path.rename(path.with_name(f"retired-{old.keyid[:16]}.pem"))
    _write_new(path)
    new = instance_key(settings, engine)
    return old.keyid, new.keyid
