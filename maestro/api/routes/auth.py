from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlmodel import select

from maestro.api.deps import AUTHENTICATED, SESSION_COOKIE, Public, Require, RuntimeDep, SessionDep
from maestro.api.problems import Problem
from maestro.api.schemas import LoginInput, MePublic, UserPublic
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal, bindings_for, create_session
from maestro.domain.models import User
from maestro.domain.security import verify_password
from maestro.domain.types import utcnow

router = APIRouter(prefix="/auth", tags=["auth"])


def me_of(principal: Principal) -> MePublic:
    return MePublic(
        user=UserPublic.model_validate(principal.user),
        csrf_token=principal.session.csrf_token if principal.session else None,
        permissions=sorted(principal.all_permissions()),
        auth="session" if principal.kind == "session" else "token",
    )


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/login",
    operation_id="auth-login",
    response_model=MePublic,
    dependencies=[Public],
    responses={401: {"description": "Wrong username or password"}, 429: {"description": "Too many failed logins"}},
)
def login(*, body: LoginInput, request: Request, response: Response, rt: RuntimeDep, session: SessionDep) -> MePublic:
    """Check the password, start a session (HttpOnly cookie) and return the CSRF token."""
    st = rt.settings
    key = f"maestro:loginfail:{body.username.lower()}:{_client_ip(request)}"
    failures = int(rt.redis_sync.get(key) or 0)
    if failures >= st.login_max_failures:
        wait = max(int(rt.redis_sync.ttl(key)), 1)
        raise Problem(
            429,
            f"Too many failed logins for {body.username!r} from this address.",
            headers={"Retry-After": str(wait)},
            remediation=f"Wait {wait} seconds and try again; an admin can run `maestro admin reset-password {body.username}`.",
        )
    user = session.exec(select(User).where(User.username == body.username)).first()
    if not verify_password(user.password_hash if user else None, body.password) or user is None or not user.is_active:
        pipe = rt.redis_sync.pipeline()
        pipe.incr(key)
        pipe.expire(key, st.login_window_seconds, nx=True)
        pipe.execute()
        raise Problem(401, "Wrong username or password.", remediation="Check both and try again.")
    rt.redis_sync.delete(key)
    ls, raw = create_session(session, user=user, ttl=timedelta(hours=st.session_ttl_hours))
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=st.session_ttl_hours * 3600,
        httponly=True,
        secure=st.cookie_secure,
        samesite="strict",
        path="/",
    )
    return me_of(
        Principal(
            user=user, tenant_id=user.tenant_id, kind="session", session=ls, bindings=bindings_for(session, user_id=user.id)
        )
    )


@router.post("/logout", operation_id="auth-logout", status_code=204)
def logout(*, response: Response, session: SessionDep, principal: Annotated[Principal, Require(AUTHENTICATED)]) -> Response:
    """End the current session (the cookie stops working everywhere)."""
    if principal.session is None:
        raise Problem(400, "API tokens have no session to end.", remediation="Revoke the token instead.")
    ls = principal.session
    ls.revoked_at = utcnow()
    session.add(ls)
    append_audit(
        session,
        actor=principal.actor,
        action="auth.logout",
        target_type="user",
        target_id=principal.user.id,
        change={"session": ls.id},
    )
    session.commit()
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", operation_id="auth-me", response_model=MePublic)
def me(*, principal: Annotated[Principal, Require(AUTHENTICATED)]) -> MePublic:
    """Who you are, what you may do, and the CSRF token of your session."""
    return me_of(principal)
