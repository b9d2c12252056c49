import type { CandidateSpec, ClassBody, ServicePublic } from "@/client/types.gen";
import type { FieldErrors } from "@/lib/form";
import { candidateKey, DEFAULT_WEIGHTS, kept, SCORE_DIMENSIONS, splitList, type RoutingClass, type ScoreDimension } from "./model";

/** The failover defaults the API applies when a class sets none (maestro/gateway/spec.py FailoverSpec). */
export const DEFAULT_FAILOVER = { maxAttempts: 3, backoffMs: 25, backoffMaxMs: 1000, cooldownAfter: 3, cooldownSeconds: 30 } as const;
export type FailoverField = keyof typeof DEFAULT_FAILOVER;
export const FAILOVER_FIELDS: { key: FailoverField; label: string; min: number; max: number; hint: string }[] = [
  { key: "maxAttempts", label: "Max attempts", min: 1, max: 10, hint: "Candidates tried for one request (retryable errors only)." },
  { key: "backoffMs", label: "Backoff (ms)", min: 0, max: 10_000, hint: "Wait before the second attempt; doubles each attempt." },
  { key: "backoffMaxMs", label: "Backoff cap (ms)", min: 0, max: 60_000, hint: "The longest wait between attempts." },
  { key: "cooldownAfter", label: "Cooldown after (failures)", min: 1, max: 1000, hint: "Failures in a row that put a candidate in cooldown." },
  { key: "cooldownSeconds", label: "Cooldown (s)", min: 1, max: 3600, hint: "How long a cooling candidate is skipped." },
];

export interface PolicyCandidate {
  provider: string;
  model: string;
  /** A/B share in percent, as typed. */
  weight: string;
}

export interface PolicyDraft {
  providers: string;
  models: string;
  regions: string;
  weights: Record<ScoreDimension, string>;
  failover: Record<FailoverField, string>;
  /** In fallback order: the listed order breaks score ties. */
  candidates: PolicyCandidate[];
  sticky: string;
  rego: string;
  captureEnabled: boolean;
  /** Percent of the class's requests captured, as typed. */
  captureRate: string;
  captureRetention: string;
}

export function policyDraft(c: RoutingClass): PolicyDraft {
  const w = { ...DEFAULT_WEIGHTS, ...c.weights };
  const f = { ...DEFAULT_FAILOVER, ...c.failover };
  return {
    providers: (c.policy?.providers ?? []).join(", "),
    models: (c.policy?.models ?? []).join(", "),
    regions: (c.policy?.regions ?? []).join(", "),
    weights: { latency: String(w.latency), cost: String(w.cost), reliability: String(w.reliability), policy: String(w.policy) },
    failover: {
      maxAttempts: String(f.maxAttempts),
      backoffMs: String(f.backoffMs),
      backoffMaxMs: String(f.backoffMaxMs),
      cooldownAfter: String(f.cooldownAfter),
      cooldownSeconds: String(f.cooldownSeconds),
    },
    candidates: c.candidates.map((x) => ({ provider: x.provider, model: x.model, weight: String(x.weight ?? 0) })),
    sticky: c.sticky ?? "",
    rego: c.rego ?? "",
    captureEnabled: c.capture?.enabled ?? false,
    captureRate: String(Math.round((c.capture?.sampleRate ?? 0.1) * 10000) / 100),
    captureRetention: String(c.capture?.retentionDays ?? 7),
  };
}

function num(value: string): number | null {
  const t = value.trim();
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** Sum of the typed A/B shares (blank counts as 0); null when one is not a number. */
export function splitSum(candidates: readonly PolicyCandidate[]): number | null {
  let total = 0;
  for (const c of candidates) {
    const n = c.weight.trim() ? num(c.weight) : 0;
    if (n === null) return null;
    total += n;
  }
  return total;
}

/** Moves item i of a list by delta places (up: -1, down: +1); the list unchanged at an end. */
export function move<T>(list: readonly T[], i: number, delta: number): T[] {
  const j = i + delta;
  if (j < 0 || j >= list.length) return [...list];
  const out = [...list];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

/**
 * The whole PUT /api/routing/classes/{name} body from the policy sheet: what it edits (policy,
 * weights, failover, candidates' order and A/B shares, sticky header, Rego, capture settings) over
 * everything else of the class, kept as it is (price cards, match rules, redaction patterns, …).
 */
export function buildPolicyBody(d: PolicyDraft, base: RoutingClass): { body: ClassBody; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const weights = {} as Record<ScoreDimension, number>;
  for (const dim of SCORE_DIMENSIONS) {
    const v = num(d.weights[dim]);
    if (v === null || v < 0 || v > 100) errors[`weights.${dim}`] = "A weight from 0 to 100.";
    weights[dim] = v ?? 0;
  }
  const failover = {} as Record<FailoverField, number>;
  for (const f of FAILOVER_FIELDS) {
    const v = num(d.failover[f.key]);
    if (v === null || !Number.isInteger(v) || v < f.min || v > f.max) errors[`failover.${f.key}`] = `A whole number from ${f.min} to ${f.max}.`;
    failover[f.key] = v ?? DEFAULT_FAILOVER[f.key];
  }
  const specs = new Map(base.candidates.map((c) => [candidateKey(c), c]));
  const candidates: CandidateSpec[] = d.candidates.map((c, i) => {
    const w = c.weight.trim() ? num(c.weight) : 0;
    if (w === null || !Number.isInteger(w) || w < 0 || w > 100) errors[`candidates.${i}.weight`] = "A whole percent from 0 to 100.";
    const spec = specs.get(candidateKey(c)) ?? { provider: c.provider, model: c.model };
    const { weight: _old, ...rest } = spec;
    return w ? { ...rest, weight: w } : rest;
  });
  const total = splitSum(d.candidates);
  if (total !== null && total !== 0 && total !== 100 && !Object.keys(errors).some((k) => k.endsWith(".weight"))) {
    errors.candidates = `The A/B shares add up to ${total}%: make them 100% (or all 0 for no split).`;
  }
  const rate = num(d.captureRate);
  if (rate === null || rate < 0 || rate > 100) errors["capture.sampleRate"] = "A percent from 0 to 100.";
  const retention = num(d.captureRetention);
  if (retention === null || !Number.isInteger(retention) || retention < 1 || retention > 365) {
    errors["capture.retentionDays"] = "A whole number of days from 1 to 365.";
  }
  const body: ClassBody = {
    ...kept(base),
    candidates,
    weights,
    failover,
    policy: { ...(base.policy ?? {}), providers: splitList(d.providers), models: splitList(d.models), regions: splitList(d.regions) },
    sticky: d.sticky.trim() || null,
    rego: d.rego.trim() ? d.rego : null,
    capture: {
      ...(base.capture ?? {}),
      enabled: d.captureEnabled,
      sampleRate: rate === null ? 0.1 : Math.round(rate * 100) / 10000,
      retentionDays: retention ?? 7,
    },
  };
  return { body, errors };
}

// ---- model canaries ----------------------------------------------------------------------------

/** A candidate as a model canary's URL: the gateway provider routes `model://<provider>/<model>`. */
export function modelUrl(c: { provider: string; model: string }): string {
  return `model://${candidateKey(c)}`;
}

/** Services the gateway provider routes for this class (providerConfig.routeClass). */
export function classServices(services: readonly ServicePublic[], cls: string): ServicePublic[] {
  return services.filter((s) => s.provider === "gateway" && s.providerConfig?.routeClass === cls);
}
