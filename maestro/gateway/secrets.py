"""Provider keys at rest: AES-256-GCM under a data key that never leaves the machines that need it.

A provider key (an OpenAI or Anthropic API key) is stored only as a sealed blob
`v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`, bound to the provider's name as associated data
(a blob copied onto another provider does not open). The API seals; only the gateway opens, in memory,
to call the provider. No API returns a key and nothing logs one.

Data keys (a key ring) come from `MAESTRO_GATEWAY_DATA_KEYS` (`id:base64key,id:base64key`, the first
one seals; production: from a KMS or a secret store through the environment) or, on the embedded stack,
from `<data dir>/gateway-keys` (created 0600 on first use). Rotation without downtime: add a new key
first in the ring (every replica can now open both), re-seal the stored keys (`POST
/api/routing/keys/rotate`), then drop the old key.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1"


class KeyRingError(RuntimeError):
    """The key ring is missing, malformed, or does not hold the key a blob was sealed with."""


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, bytes], ...]  # (id, 32-byte key); the first seals

    @staticmethod
    def parse(spec: str) -> KeyRing:
        keys: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            kid, sep, b64 = part.partition(":")
            if not sep or not kid.isalnum():
                raise KeyRingError(f"data key {kid!r}: write each key as <alphanumeric id>:<base64 of 32 bytes>")
            try:
                raw = _b64d(b64)
            except ValueError as exc:
                raise KeyRingError(f"data key {kid!r} is not base64: {exc}") from None
            if len(raw) != 32:
                raise KeyRingError(f"data key {kid!r} has {len(raw)} bytes; AES-256 needs 32")
            keys.append((kid, raw))
        if not keys:
            raise KeyRingError("the data key ring is empty")
        if len({k for k, _ in keys}) != len(keys):
            raise KeyRingError("two data keys share an id")
        return KeyRing(tuple(keys))

    def render(self) -> str:
        return ",".join(f"{kid}:{_b64e(raw)}" for kid, raw in self.keys)

    @property
    def primary(self) -> str:
        return self.keys[0][0]

    def seal(self, plaintext: str, *, bound_to: str) -> str:
        kid, raw = self.keys[0]
        nonce = os.urandom(12)
        sealed = AESGCM(raw).encrypt(nonce, plaintext.encode(), f"{PREFIX}|{kid}|{bound_to}".encode())
        return f"{PREFIX}.{kid}.{_b64e(nonce + sealed)}"

    def open(self, blob: str, *, bound_to: str) -> str:
        try:
            prefix, kid, body = blob.split(".", 2)
        except ValueError:
            raise KeyRingError("not a sealed key") from None
        if prefix != PREFIX:
            raise KeyRingError(f"sealed with an unknown scheme {prefix!r}")
        raw = dict(self.keys).get(kid)
        if raw is None:
            raise KeyRingError(f"sealed with data key {kid!r}, which this key ring does not hold")
        data = _b64d(body)
        try:
            return AESGCM(raw).decrypt(data[:12], data[12:], f"{PREFIX}|{kid}|{bound_to}".encode()).decode()
        except Exception:
            raise KeyRingError(
                f"the key sealed for {bound_to!r} does not open (tampered, or bound to another provider)"
            ) from None

    @staticmethod
    def sealed_with(blob: str) -> str | None:
        parts = blob.split(".", 2)
        return parts[1] if len(parts) == 3 else None


def new_key_spec(kid: str | None = None) -> str:
    return f"{kid or secrets.token_hex(4)}:{_b64e(AESGCM.generate_key(bit_length=256))}"


def load_key_ring(env_spec: str | None, data_dir: Path) -> KeyRing:
    """The ring from the environment, else from the data dir's 0600 file (created on first use)."""
    if env_spec:
        return KeyRing.parse(env_spec)
    path = data_dir / "gateway-keys"
    if not path.is_file():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_key_spec() + "\n")
        try:
            os.link(tmp, path)  # another process may have created it meanwhile: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyRingError(f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}")
    return KeyRing.parse(path.read_text().strip())
