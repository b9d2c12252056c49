"""Signatures: cosign-compatible blob signatures and in-toto statements in DSSE envelopes."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from maestro.supply.keys import InstanceKey

IN_TOTO = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"


def sign_blob(key: InstanceKey, data: bytes) -> str:
    """What `cosign sign-blob --key` produces: ECDSA P-256 over SHA-256, DER, base64."""
    return base64.b64encode(key.private.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def verify_blob(public: ec.EllipticCurvePublicKey, data: bytes, signature_b64: str) -> bool:
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def sslib_key(public: ec.EllipticCurvePublicKey) -> SSlibKey:
    from maestro.supply.keys import keyid_of

    return SSlibKey.from_crypto(public, keyid=keyid_of(public))


def statement(subjects: list[tuple[str, str]], predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    return {
        "_type": STATEMENT_V1,
        "subject": [{"name": name, "digest": {"sha256": sha}} for name, sha in subjects],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def sign_statement(key: InstanceKey, stmt: dict[str, Any]) -> dict[str, Any]:
    """A DSSE envelope (JSON form) over the statement, signed by the instance key."""
    payload = json.dumps(stmt, sort_keys=True, separators=(",", ":")).encode()
    env = Envelope(payload=payload, payload_type=IN_TOTO, signatures={})
    env.sign(CryptoSigner(key.private, sslib_key(key.public)))
    return env.to_dict()  # type: ignore[no-any-return]


def verify_envelope(envelope: dict[str, Any], publics: list[ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    """The statement inside a DSSE envelope, if one of the keys signed it; raises ValueError otherwise."""
    try:
        env = Envelope.from_dict(envelope)
        env.verify([sslib_key(p) for p in publics], 1)
    except (VerificationError, KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"DSSE signature does not verify: {exc}") from exc
    if env.payload_type != IN_TOTO:
        raise ValueError(f"unexpected payloadType {env.payload_type!r}")
    return json.loads(env.payload)  # type: ignore[no-any-return]


def sign_payload(key: InstanceKey, payload: bytes, payload_type: str) -> dict[str, Any]:
    """A DSSE envelope over any payload (the evidence manifest uses its own payload type)."""
    env = Envelope(payload=payload, payload_type=payload_type, signatures={})
    env.sign(CryptoSigner(key.private, sslib_key(key.public)))
    return env.to_dict()  # type: ignore[no-any-return]


def verify_payload(envelope: dict[str, Any], public: ec.EllipticCurvePublicKey, payload_type: str) -> bytes:
    """The payload of a DSSE envelope signed by `public`; raises ValueError otherwise."""
    try:
        env = Envelope.from_dict(envelope)
        env.verify([sslib_key(public)], 1)
    except (VerificationError, KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"signature does not verify: {exc}") from exc
    if env.payload_type != payload_type:
        raise ValueError(f"unexpected payloadType {env.payload_type!r}")
    return env.payload  # type: ignore[no-any-return]
