import type {
  CandidateScore,
  CandidateSpec,
  ClassBody,
  GatewayRequestRecord,
  RoutingClassPublic,
  RoutingEvent,
} from "@/client/types.gen";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";

export type RoutingClass = RoutingClassPublic;
export type RequestRecord = GatewayRequestRecord;

/** Names of providers and classes (the API's NAME pattern). */
export const ROUTING_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const NAME_HINT = "Lowercase letters, digits, dots, dashes and underscores (up to 63), starting with a letter or digit.";

/** A candidate's key as the API and the gateway write it: `provider/model`. */
export function candidateKey(c: { provider: string; model: string }): string {
  return `${c.provider}/${c.model}`;
}

/** The score weights the API applies when a class sets none (maestro/gateway/spec.py ScoreWeights). */
export const DEFAULT_WEIGHTS = { latency: 1, cost: 1, reliability: 2, policy: 1 } as const;
export const SCORE_DIMENSIONS = ["latency", "cost", "reliability", "policy"] as const;
export type ScoreDimension = (typeof SCORE_DIMENSIONS)[number];

export const DIMENSION_LABELS: Record<ScoreDimension, string> = {
  latency: "Latency",
  cost: "Cost",
  reliability: "Reliability",
  policy: "Policy",
};

/** What each dimension measures, as the gateway computes it (maestro/gateway/router.py). */
export const DIMENSION_HINTS: Record<ScoreDimension, string> = {
  latency: "fastest latency EWMA ÷ this one's (1 until it has traffic)",
  cost: "cheapest price card ÷ this one's",
  reliability: "1 − the EWMA of its failures",
  policy: "1 when the class's policy allows it, 0 takes it out",
};

// ---- the request log window --------------------------------------------------------------------

export interface CandidateTraffic {
  key: string;
  provider: string;
  model: string;
  requests: number;
  succeeded: number;
  /** Succeeded ÷ requests, 0..1. */
  successRate: number;
  /** Latency the client saw (upstream + added) of the succeeded requests, ms; null without any. */
  p50: number | null;
  p95: number | null;
  tokens: number;
  /** Some tokens are the gateway's estimate (no usage reported, or a broken stream). */
  estimated: boolean;
  usd: number;
  /** Served after at least one failover (attempts > 1). */
  failedOver: number;
  /** This candidate's share of the window's requests, 0..1. */
  share: number;
}

export interface TrafficWindow {
  requests: number;
  /** Oldest and newest request of the window (ms since the epoch); null when empty. */
  from: number | null;
  to: number | null;
  seconds: number;
  tokens: number;
  usd: number;
  /** Per second / per minute over the window's span; null when it spans no time. */
  tokensPerSecond: number | null;
  usdPerMinute: number | null;
  candidates: CandidateTraffic[];
}

const isOk = (status: number) => status >= 200 && status < 300;

/** Nearest-rank percentile of ascending `sorted` (p in 0..100); null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * Per-candidate traffic of a window of the request log (GET /api/routing/requests, newest first):
 * requests, success, latency percentiles, tokens and spend, busiest first.
 */
export function trafficWindow(records: readonly RequestRecord[]): TrafficWindow {
  const groups = new Map<string, RequestRecord[]>();
  let from: number | null = null;
  let to: number | null = null;
  for (const r of records) {
    const key = candidateKey(r);
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
    const t = Date.parse(r.ts);
    if (!Number.isNaN(t)) {
      from = from === null ? t : Math.min(from, t);
      to = to === null ? t : Math.max(to, t);
    }
  }
  const candidates: CandidateTraffic[] = [...groups.entries()].map(([key, rows]) => {
    const ok = rows.filter((r) => isOk(r.status));
    const latencies = ok.map((r) => r.upstreamMs + r.addedMs).sort((a, b) => a - b);
    return {
      key,
      provider: rows[0].provider,
      model: rows[0].model,
      requests: rows.length,
      succeeded: ok.length,
      successRate: ok.length / rows.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      tokens: rows.reduce((n, r) => n + r.promptTokens + r.completionTokens, 0),
      estimated: rows.some((r) => r.estimated),
      usd: rows.reduce((n, r) => n + r.usd, 0),
      failedOver: rows.filter((r) => r.attempts > 1).length,
      share: rows.length / records.length,
    };
  });
  candidates.sort((a, b) => b.requests - a.requests || a.key.localeCompare(b.key));
  const seconds = from !== null && to !== null ? (to - from) / 1000 : 0;
  const tokens = candidates.reduce((n, c) => n + c.tokens, 0);
  const usd = candidates.reduce((n, c) => n + c.usd, 0);
  return {
    requests: records.length,
    from,
    to,
    seconds,
    tokens,
    usd,
    tokensPerSecond: seconds > 0 ? tokens / seconds : null,
    usdPerMinute: seconds > 0 ? (usd / seconds) * 60 : null,
    candidates,
  };
}

// ---- formatting --------------------------------------------------------------------------------

/** USD with enough digits for model calls (a request often costs a fraction of a cent). */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return "—";
  if (usd === 0) return "$0";
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  if (usd >= 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toPrecision(2)}`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export function formatPercent(share: number): string {
  if (!Number.isFinite(share)) return "—";
  const p = share * 100;
  return p === 100 || p === 0 ? `${p}%` : `${p.toFixed(1)}%`;
}

export function formatScore(v: number): string {
  return v.toFixed(2);
}

/** "12 s", "3 min", "2 h 5 min": a cooldown or a TTL. */
export function formatSeconds(s: number): string {
  const n = Math.max(0, Math.round(s));
  if (n < 60) return `${n} s`;
  if (n < 3600) return `${Math.round(n / 60)} min`;
  const h = Math.floor(n / 3600);
  const m = Math.round((n % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

// ---- candidates --------------------------------------------------------------------------------

export interface CandidateState {
  winner: boolean;
  pinned: boolean;
  downgradeTarget: boolean;
  coolingSeconds: number;
  killed: string | null;
  outsidePolicy: boolean;
}

export function candidateState(
  score: CandidateScore,
  cls: Pick<RoutingClass, "pin" | "downgradeTo">,
  winner: string | null,
): CandidateState {
  const key = candidateKey(score);
  return {
    winner: winner === key,
    pinned: cls.pin ? candidateKey(cls.pin) === key : false,
    downgradeTarget: cls.downgradeTo === key,
    coolingSeconds: score.coolingSeconds,
    killed: score.killed,
    outsidePolicy: !score.allowed,
  };
}

/** The candidates in the order requests try them (the ranking), the ones outside the policy last. */
export function rankedCandidates(view: { ranking: string[]; candidates: CandidateScore[] }): CandidateScore[] {
  const pos = new Map(view.ranking.map((k, i) => [k, i]));
  return [...view.candidates].sort((a, b) => (pos.get(candidateKey(a)) ?? 1e9) - (pos.get(candidateKey(b)) ?? 1e9));
}

// ---- the class form ----------------------------------------------------------------------------

export interface CandidateDraft {
  provider: string;
  model: string;
  priceInput: string;
  priceOutput: string;
}

export interface ClassDraft {
  name: string;
  description: string;
  models: string;
  candidates: CandidateDraft[];
  downgradeTo: string;
  priority: string;
  weights: Record<ScoreDimension, string>;
}

export function emptyCandidate(provider = ""): CandidateDraft {
  return { provider, model: "", priceInput: "0", priceOutput: "0" };
}

export function draftFromClass(c: RoutingClass | null, firstProvider = ""): ClassDraft {
  if (!c) {
    return {
      name: "",
      description: "",
      models: "",
      candidates: [emptyCandidate(firstProvider)],
      downgradeTo: "",
      priority: "100",
      weights: {
        latency: String(DEFAULT_WEIGHTS.latency),
        cost: String(DEFAULT_WEIGHTS.cost),
        reliability: String(DEFAULT_WEIGHTS.reliability),
        policy: String(DEFAULT_WEIGHTS.policy),
      },
    };
  }
  const w = { ...DEFAULT_WEIGHTS, ...c.weights };
  return {
    name: c.name,
    description: c.description ?? "",
    models: (c.match?.models ?? []).join(", "),
    candidates: c.candidates.map((x) => ({
      provider: x.provider,
      model: x.model,
      priceInput: String(x.price?.input ?? 0),
      priceOutput: String(x.price?.output ?? 0),
    })),
    downgradeTo: c.downgradeTo ?? "",
    priority: String(c.priority ?? 100),
    weights: { latency: String(w.latency), cost: String(w.cost), reliability: String(w.reliability), policy: String(w.policy) },
  };
}

/** A comma- or whitespace-separated list, without empties or repeats. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))];
}

function number(value: string): number | null {
  const t = value.trim();
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** What the API returns about a class but does not take back in its body. */
const READ_ONLY = new Set(["name", "downgraded", "downgradeReason", "pin", "createdBy", "updatedAt"]);

/**
 * Everything of a class the form does not edit (failover, policy, Rego, capture, sticky, other match
 * rules, …), including fields newer than this UI: a change through the form must never drop them.
 */
export function kept(base: RoutingClass): Partial<ClassBody> {
  return Object.fromEntries(Object.entries(base).filter(([k]) => !READ_ONLY.has(k))) as Partial<ClassBody>;
}

/**
 * The PUT /api/routing/classes/{name} body from the form, and the mistakes the API would refuse
 * anyway, keyed like the API's own field errors. `base` keeps what the form does not edit
 * (failover, policy, other match rules, A/B weights, …) when a class is changed.
 */
export function buildClassBody(d: ClassDraft, base: RoutingClass | null): { body: ClassBody; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const name = d.name.trim();
  if (!name) errors.name = "Give the class a name, e.g. “chat”.";
  else if (!ROUTING_NAME.test(name)) errors.name = NAME_HINT;
  if (!d.candidates.length) errors.candidates = "Add at least one candidate.";
  const weightsByKey = new Map((base?.candidates ?? []).map((c) => [candidateKey(c), c.weight ?? 0]));
  const candidates: CandidateSpec[] = d.candidates.map((c, i) => {
    const model = c.model.trim();
    if (!c.provider) errors[`candidates.${i}.provider`] = "Choose a provider.";
    if (!model) errors[`candidates.${i}.model`] = "Name the model the provider knows, e.g. “gpt-4o-mini”.";
    const input = number(c.priceInput);
    const output = number(c.priceOutput);
    if (input === null || input < 0) errors[`candidates.${i}.price.input`] = "A price of 0 or more (USD per million tokens).";
    if (output === null || output < 0) errors[`candidates.${i}.price.output`] = "A price of 0 or more (USD per million tokens).";
    const spec: CandidateSpec = { provider: c.provider, model, price: { input: input ?? 0, output: output ?? 0 } };
    const weight = weightsByKey.get(candidateKey(spec));
    return weight ? { ...spec, weight } : spec;
  });
  const seen = new Set<string>();
  candidates.forEach((c, i) => {
    const k = candidateKey(c);
    if (c.provider && c.model && seen.has(k)) errors[`candidates.${i}.model`] = `${k} is already a candidate of this class.`;
    seen.add(k);
  });
  const priority = number(d.priority);
  if (priority === null || !Number.isInteger(priority) || priority < 0) errors.priority = "A whole number, 0 or more (lower matches first).";
  const weights = {} as Record<ScoreDimension, number>;
  for (const dim of SCORE_DIMENSIONS) {
    const v = number(d.weights[dim]);
    if (v === null || v < 0 || v > 100) errors[`weights.${dim}`] = "A weight from 0 to 100.";
    weights[dim] = v ?? 0;
  }
  const downgradeTo = d.downgradeTo || null;
  if (downgradeTo && !seen.has(downgradeTo)) errors.downgradeTo = "Choose one of the class's candidates.";
  const body: ClassBody = {
    ...(base ? kept(base) : {}),
    description: d.description.trim(),
    priority: priority ?? 100,
    match: { ...(base?.match ?? {}), models: splitList(d.models) },
    candidates,
    weights,
    downgradeTo,
  };
  return { body, errors };
}

/**
 * The API's field errors for a class, keyed like buildClassBody's: `candidates[0].provider` (the
 * route's own checks) and `candidates.0.provider` (schema validation) both become the latter; a
 * whole-body rule ("downgradeTo: … is not one of the candidates") goes to the field it names.
 */
export function apiFieldErrors(error: unknown): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, message] of Object.entries(serverFieldErrors(error))) {
    let key = field.replace(/\[(\d+)\]/g, ".$1");
    let msg = message;
    if (key.startsWith("path.")) key = key.slice(5);
    if (key === "body" || key === "") {
      const m = /^([A-Za-z]+): (.*)$/s.exec(message);
      key = m ? m[1] : "_";
      msg = m ? m[2] : message;
    }
    out[key] ??= msg;
  }
  return out;
}

// ---- events ------------------------------------------------------------------------------------

export type EventTone = "danger" | "warning" | "success" | "info";

export interface EventView {
  title: string;
  detail: string;
  tone: EventTone;
}

function clock(unix: number | null | undefined): string {
  if (!unix) return "";
  return new Date(unix * 1000).toLocaleTimeString();
}

/** One routing event in words: what happened to which class and candidate, and why. */
export function describeEvent(e: RoutingEvent): EventView {
  const p = e.payload;
  const cand = p.provider && p.model ? `${p.provider}/${p.model}` : p.provider || p.model || "";
  const by = p.actor ? ` (by ${p.actor})` : "";
  const cls = p.routeClass ? `class ${p.routeClass}` : "";
  const Cls = p.routeClass ? `Class ${p.routeClass}` : "A class";
  switch (e.type) {
    case "routing_decision":
      return { title: `${cand} chosen for ${cls}`, detail: [p.reason || p.message, p.scores].filter(Boolean).join(" · "), tone: "info" };
    case "routing_failover":
      return {
        title: `Failover from ${cand} to ${p.to || "the next candidate"}`,
        detail: `${cls}: ${p.status ? `answered ${p.status}` : "no answer"}${p.message ? `: ${p.message}` : ""} (attempt ${p.attempt ?? 1})`,
        tone: "danger",
      };
    case "routing_cooldown":
      return {
        title: `${cand} cooling down${p.until ? ` until ${clock(p.until)}` : ""}`,
        detail: [cls, p.message].filter(Boolean).join(": "),
        tone: "warning",
      };
    case "routing_stream_broken":
      return { title: `Stream from ${cand} broke`, detail: [cls, p.message].filter(Boolean).join(": "), tone: "danger" };
    case "routing_pinned":
      return {
        title: `${Cls} pinned to ${cand}`,
        detail: `${p.until ? `until ${clock(p.until)}` : "until unpinned"}${p.message ? `: ${p.message}` : ""}${by}`,
        tone: "info",
      };
    case "routing_unpinned":
      return { title: `${Cls} unpinned`, detail: `was ${cand}${by}`, tone: "info" };
    case "routing_killed":
      return { title: "Switched off", detail: `${p.message}${by}`, tone: "danger" };
    case "routing_revived":
      return { title: "Switched on again", detail: `${p.message}${by}`, tone: "success" };
    case "routing_downgraded":
      return {
        title: `${Cls} downgraded to ${cand}`,
        detail: `${p.message}${by}`,
        tone: "warning",
      };
    case "routing_restored":
      return {
        title: `${Cls}: downgrade switched off`,
        detail: `${p.message}${by}`,
        tone: "success",
      };
  }
}

/** Events that concern a class: its own, and installation-wide switches (kill, revive). */
export function concernsClass(e: RoutingEvent, cls: string | undefined): boolean {
  return !cls || e.payload.routeClass === cls || e.payload.routeClass === "";
}
