import type { AuthMeResponse } from "@/client/types.gen";
import { toApiError } from "@/lib/api-error";

declare global {
  interface Window {
    /** GET /api/auth/me, started by src/boot.js from <head> while the app's code still loads. */
    __maestroSession?: Promise<Response>;
    /** When it was started (ms since the epoch). */
    __maestroSessionAt?: number;
  }
}

/** Only a head start for the first screen: an answer older than this may no longer be the session. */
const EARLY_SESSION_MAX_AGE_MS = 10_000;

/**
 * The session request src/boot.js started before any module loaded, taken once (the first
 * session query uses it; later ones ask again). Undefined when there is none, or when it is too
 * old to trust (e.g. the first session query came long after, once the login page had set one).
 */
export function takeEarlySession(): Promise<Response> | undefined {
  if (typeof window === "undefined") return undefined;
  const early = window.__maestroSession;
  const age = Date.now() - (window.__maestroSessionAt ?? 0);
  window.__maestroSession = undefined;
  return age <= EARLY_SESSION_MAX_AGE_MS ? early : undefined;
}

/** The early /api/auth/me response as the generated client would give it: the session, or an ApiError. */
export async function readEarlySession(response: Response): Promise<AuthMeResponse> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  if (!response.ok) throw toApiError(body, response);
  return body as AuthMeResponse;
}
