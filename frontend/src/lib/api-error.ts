/**
 * Every failed API call surfaces as an ApiError carrying the problem+json body (RFC 9457) that
 * the backend sends, so screens can show `detail` and `remediation`. It is structurally a
 * `Problem` as generated in src/client, which is why the generated error types still fit.
 */
export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly traceId: string;
  readonly remediation: string;
  readonly errors?: FieldProblem[];
  /** Seconds from the Retry-After header (429/503), when sent. */
  readonly retryAfter: number | null;
  /** The parsed response body as received (e.g. /api/ready's 503 body). */
  readonly body: unknown;

  constructor(init: {
    status: number;
    title: string;
    detail: string;
    remediation?: string;
    type?: string;
    traceId?: string;
    errors?: FieldProblem[];
    retryAfter?: number | null;
    body?: unknown;
  }) {
    super(init.detail || init.title);
    this.name = "ApiError";
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.remediation = init.remediation ?? "";
    this.type = init.type ?? "about:blank";
    this.traceId = init.traceId ?? "";
    this.errors = init.errors;
    this.retryAfter = init.retryAfter ?? null;
    this.body = init.body;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function parseRetryAfter(value: string | null | undefined): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.ceil(secs));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Builds an ApiError from whatever the client got: a problem body, a text body or a network failure. */
export function toApiError(body: unknown, response?: Response): ApiError {
  if (body instanceof ApiError) return body;
  const retryAfter = parseRetryAfter(response?.headers.get("Retry-After"));
  if (!response) {
    if (body instanceof DOMException && body.name === "AbortError") {
      return new ApiError({ status: 0, title: "Request cancelled", detail: "The request was cancelled." });
    }
    return new ApiError({
      status: 0,
      title: "Cannot reach the Maestro API",
      detail: body instanceof Error ? body.message : "The network request failed.",
      remediation: "Check that the Maestro server is running (maestro up) and reachable, then retry.",
    });
  }
  if (isRecord(body)) {
    const errors = Array.isArray(body.errors)
      ? body.errors.filter(isRecord).map((e) => ({ field: str(e.field) ?? "", message: str(e.message) ?? "" }))
      : undefined;
    return new ApiError({
      status: typeof body.status === "number" ? body.status : response.status,
      title: str(body.title) ?? (response.statusText || `HTTP ${response.status}`),
      detail: str(body.detail) ?? "",
      remediation: str(body.remediation),
      type: str(body.type),
      traceId: str(body.traceId) ?? response.headers.get("traceparent") ?? "",
      errors,
      retryAfter,
      body,
    });
  }
  return new ApiError({
    status: response.status,
    title: response.statusText || `HTTP ${response.status}`,
    detail: typeof body === "string" && body.length < 500 ? body : `The server answered ${response.status}.`,
    retryAfter,
    body,
  });
}

/** Any thrown value as an ApiError-like problem, for error states and toasts. */
export function asProblem(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isRecord(error) && typeof error.status === "number" && typeof error.title === "string") {
    return new ApiError({
      status: error.status,
      title: error.title,
      detail: str(error.detail) ?? "",
      remediation: str(error.remediation),
      traceId: str(error.traceId),
    });
  }
  return new ApiError({
    status: 0,
    title: "Something went wrong",
    detail: error instanceof Error ? error.message : String(error),
    remediation: "Reload the page; if it persists, report it with what you were doing.",
  });
}

export function isStatus(error: unknown, status: number): boolean {
  return error instanceof ApiError && error.status === status;
}
