"""Control tickets: proof of who sent a control that reaches a workflow through Temporal.

Anything that can reach Temporal can send an update, so an update alone proves nothing about its
sender. Every control (approve, reject, cancel, pause, resume on runs; pause, resume, promote,
rollback, abort on rollouts) therefore carries a ticket: short-lived (5 minutes by default), single
use, bound to one workflow, one action and one Maestro identity, signed with the instance key. The
API mints one for each control it sends itself (`via: api`); release managers who drive runs with
`temporal workflow update` get one from `POST /api/runs/{id}/tickets` or `maestro runs ticket`
(`via: temporal`). The workflow redeems it (a local activity on the control worker) before acting and
audits the identity it names. Tickets hold no long-lived secret: what Temporal's history and UI show
is a used or expired ticket, worth nothing.

Format: ``base64url(claims JSON) "." base64url(DER ECDSA P-256 signature over DOMAIN + the first part)``;
the minted database record, not the signature alone, decides workflow, action, user and expiry.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, update
from sqlmodel import Field, Session, SQLModel, col

from maestro.config import Settings
from maestro.domain.supply import SigningKey
from maestro.domain.types import UTCDateTime, utcnow

TICKET_TTL_SECONDS = 300
MAX_TICKET_TTL_SECONDS = 900


class TicketError(ValueError):
    """The ticket does not authorize this control (the message says why, for the caller)."""


class ControlTicket(SQLModel, table=True):
    """A minted ticket; `used_at` makes it single-use."""

    __tablename__ = "control_ticket"
    jti: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=200, index=True)
    action: str = Field(max_length=32)
    actor: str = Field(max_length=200)
    via: str = Field(max_length=16)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass
class TicketClaims:
    workflow_id: str
    action: str
    actor: str
    via: str
    jti: str
    exp: int


# The instance key also signs artifacts (`uses: sign`, any bytes a build chooses): a ticket signature covers
# this prefix first, so no artifact signature can ever be a ticket signature.
DOMAIN = b"maestro-control-ticket-v1\0"


def _signed(body: str) -> bytes:
    return DOMAIN + body.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(
    settings: Settings,
    engine: Engine,
    *,
    workflow_id: str,
    action: str,
    actor: str,
    via: str,
    ttl_seconds: int = TICKET_TTL_SECONDS,
) -> tuple[str, TicketClaims]:
    from maestro.supply import keys as keymod

    key = keymod.instance_key(settings, engine)
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    claims = TicketClaims(
        workflow_id=workflow_id, action=action, actor=actor, via=via, jti=secrets.token_hex(16), exp=int(expires.timestamp())
    )
    body = _b64(json.dumps({"v": 1, "kid": key.keyid, **claims.__dict__}, sort_keys=True, separators=(",", ":")).encode())
    sig = key.private.sign(_signed(body), ec.ECDSA(hashes.SHA256()))
    with Session(engine) as s:
        s.add(
            ControlTicket(
                jti=claims.jti,
                workflow_id=workflow_id,
                action=action,
                actor=actor,
                via=via,
                issued_at=now,
                expires_at=expires,
            )
        )
        s.commit()
    return f"{body}.{_b64(sig)}", claims


def revoke(engine: Engine, jti: str) -> None:
    """Use a ticket up without acting on it (a control the API gave up on must not act later)."""
    with Session(engine) as s:
        s.exec(  # type: ignore[call-overload]
            update(ControlTicket)
            .where(col(ControlTicket.jti) == jti, col(ControlTicket.used_at).is_(None))
            .values(used_at=utcnow())
        )
        s.commit()


def redeem(engine: Engine, token: str, *, workflow_id: str, action: str, now: datetime | None = None) -> TicketClaims:
    """Check a ticket for this workflow and action and use it up; raises TicketError naming the reason."""
    from maestro.supply import keys as keymod

    if not token:
        raise TicketError(
            "no control ticket: get one with `maestro runs ticket` / `maestro rollout ticket` or the API's /tickets"
        )
    try:
        body, sig = token.split(".", 1)
        raw = json.loads(_unb64(body))
        signature = _unb64(sig)
    except (ValueError, binascii.Error) as exc:
        raise TicketError("the control ticket is malformed") from exc
    if not isinstance(raw, dict) or raw.get("v") != 1:
        raise TicketError("the control ticket is malformed")
    with Session(engine) as s:
        row = s.get(SigningKey, str(raw.get("kid", "")))
        if row is None or row.retired_at is not None:
            raise TicketError("the control ticket was not signed by this Maestro's current key")
        try:
            keymod.load_public(row.public_pem).verify(signature, _signed(body), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise TicketError("the control ticket's signature does not verify") from exc
        try:
            claims = TicketClaims(
                workflow_id=str(raw["workflow_id"]),
                action=str(raw["action"]),
                actor=str(raw["actor"]),
                via=str(raw["via"]),
                jti=str(raw["jti"]),
                exp=int(raw["exp"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TicketError("the control ticket is malformed") from exc
        if claims.workflow_id != workflow_id:
            raise TicketError(f"the control ticket is for workflow {claims.workflow_id}, not {workflow_id}")
        if claims.action != action:
            raise TicketError(f"the control ticket is for {claims.action}, not {action}")
        now = now or utcnow()
        # the minted record is the authority: a signature alone never names a workflow, an action or a user
        minted = s.get(ControlTicket, claims.jti)
        if minted is None:
            raise TicketError("the control ticket is unknown")
        if (minted.workflow_id, minted.action, minted.actor, minted.via) != (
            claims.workflow_id,
            claims.action,
            claims.actor,
            claims.via,
        ):
            raise TicketError("the control ticket does not match the one Maestro minted")
        if now > minted.expires_at:
            raise TicketError("the control ticket has expired: get a new one")
        used = s.exec(  # type: ignore[call-overload]
            update(ControlTicket)
            .where(col(ControlTicket.jti) == claims.jti, col(ControlTicket.used_at).is_(None))
            .values(used_at=now)
        )
        s.commit()
        if used.rowcount != 1:
            raise TicketError("the control ticket was already used")
    return claims
