from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session, select

from maestro.api.deps import Require, SessionDep
from maestro.api.pagination import Page, PageParams, page_params, paginate
from maestro.api.problems import Problem
from maestro.api.schemas import RevokeInput, TokenCreate, TokenCreated, TokenPublic
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import MAX_TOKEN_DEPTH, Principal, mint_token, token_ancestors, token_descendants
from maestro.domain.models import ApiToken, User
from maestro.domain.rbac import grants
from maestro.domain.types import utcnow

router = APIRouter(prefix="/tokens", tags=["tokens"])


def to_public(session: Session, tok: ApiToken) -> TokenPublic:
    owner = session.get(User, tok.owner_id)
    parent = session.get(ApiToken, tok.parent_id) if tok.parent_id else None
    return TokenPublic.model_validate(
        {
            **tok.model_dump(),
            "owner_username": owner.username if owner else "?",
            "parent_prefix": parent.prefix if parent else None,
        }
    )


@router.get("", operation_id="tokens-list", response_model=Page[TokenPublic])
def list_tokens(
    *,
    session: SessionDep,
    principal: Annotated[Principal, Require("tokens:self")],
    page: Annotated[PageParams, Depends(page_params)],
    all: Annotated[bool, Query(description="Every user's tokens (needs admin:tokens).")] = False,
) -> Page[TokenPublic]:
    """Your API tokens, newest first (secrets are never shown again)."""
    stmt = select(ApiToken)
    if all:
        if not grants(principal.all_permissions(), "admin:tokens"):
            raise Problem(403, "Listing every user's tokens needs the permission 'admin:tokens'.")
    else:
        stmt = stmt.where(ApiToken.owner_id == principal.user.id)
    return paginate(
        session,
        stmt,
        order=[ApiToken.created_at, ApiToken.id],
        params=page,
        kind="tokens",
        to_public=lambda t: to_public(session, t),
    )


@router.post("", operation_id="tokens-create", response_model=TokenCreated, status_code=201)
def create_token(
    *, body: TokenCreate, session: SessionDep, principal: Annotated[Principal, Require("tokens:self")]
) -> TokenCreated:
    """Mint a token for CI. Its scopes must be permissions you hold; the secret is returned once.

    Minted with a token, the new token is its child: it expires no later than the parent, and
    revoking the parent revokes it too."""
    held = principal.all_permissions()
    missing = [p for p in body.scopes if not grants(held, p)]
    if missing:
        raise Problem(
            403,
            f"A token cannot carry permissions you do not hold: {missing}.",
            errors=[{"field": "scopes", "message": f"not held: {', '.join(missing)}"}],
            remediation="Remove those scopes, or ask an admin for a role that grants them.",
        )
    if principal.token is not None:
        ancestors = token_ancestors(session, principal.token)
        if ancestors is None or len(ancestors) + 1 >= MAX_TOKEN_DEPTH:
            raise Problem(
                403,
                f"Token {principal.token.prefix} ends a lineage of {MAX_TOKEN_DEPTH} tokens: it cannot mint another.",
                remediation="Mint the token from a login session or from a token nearer to one.",
            )
    tok, secret = mint_token(
        session,
        owner=principal.user,
        actor=principal.actor,
        name=body.name,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
        parent=principal.token,
    )
    return TokenCreated(token=to_public(session, tok), secret=secret)


@router.post("/{token_id}/revoke", operation_id="tokens-revoke", response_model=TokenPublic)
def revoke_token(
    *,
    token_id: str,
    body: RevokeInput | None = None,
    session: SessionDep,
    principal: Annotated[Principal, Require("tokens:self")],
) -> TokenPublic:
    """Revoke a token at once, and every token it minted. Yours, or anyone's with admin:tokens.
    Revoking twice is refused."""
    tok = session.get(ApiToken, token_id)
    if tok is None or (tok.owner_id != principal.user.id and not grants(principal.all_permissions(), "admin:tokens")):
        raise Problem(404, f"No token with id {token_id!r} that you can manage.")
    if tok.revoked_at is not None:
        raise Problem(409, f"Token {tok.prefix} is already revoked.", remediation="Nothing to do.")
    now = utcnow()
    tok.revoked_at = now
    tok.revoked_reason = body.reason if body else None
    session.add(tok)
    cascade = [t for t in token_descendants(session, tok.id) if t.revoked_at is None]
    for child in cascade:
        child.revoked_at, child.revoked_reason = now, f"revoked with {tok.prefix}, the token that minted it (or its parent)"
        session.add(child)
    append_audit(
        session,
        actor=principal.actor,
        action="token.revoke",
        target_type="api_token",
        target_id=tok.id,
        change={"prefix": tok.prefix, "reason": tok.revoked_reason, "descendants": [t.prefix for t in cascade]},
    )
    session.commit()
    return to_public(session, tok)
