import type { Compliance, CostCenter, FlakyPipeline, FlakyTest, Kpis, NoisyAlert, Release, SlowStep } from "@/client/types.gen";
import { budgetView, formatBurnRate, formatPercent } from "@/features/observability/format";
import { formatUsd } from "@/features/observability/insights";
import { formatDuration } from "@/features/runs/format";

/**
 * Pure Control Hub logic (no React): which quick actions a release offers, how its health and
 * traffic read, the KPI tiles and compliance figures as words, and `hotCold` (typed loosely by the
 * API) checked field by field. Mirrors maestro/api/routes/hub.py.
 */

const count = new Intl.NumberFormat("en-US");
const oneDecimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** 1234 → "1,234". */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? count.format(n) : "—";
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

// ---- releases ------------------------------------------------------------------------------

/** The quick actions the hub may offer, in button order (the API's `actions` names). */
export const HUB_ACTIONS = ["pause", "resume", "promote", "rollback", "abort"] as const;
export type HubAction = (typeof HUB_ACTIONS)[number];

/** Exactly the actions the API offers this caller now, known ones only, in button order. */
export function releaseActions(actions: readonly string[]): HubAction[] {
  return HUB_ACTIONS.filter((a) => actions.includes(a));
}

/** A release's row key: a service is registered once per environment. */
export function releaseKey(r: Pick<Release, "service" | "env">): string {
  return `${r.env}\u0000${r.service}`;
}

export type BadgeTone = "success" | "warning" | "danger" | "secondary" | "outline";

/** healthy → green, degraded (canary or stable errors above 5%) → red, idle → grey. */
export function healthVariant(health: string): BadgeTone {
  if (health === "healthy") return "success";
  if (health === "degraded") return "danger";
  if (health === "idle") return "secondary";
  return "outline";
}

/** The 5xx ratio of one side over the last minute, or "no traffic" when it had none. */
export function formatErrorRate(rate: number | null | undefined, requests: number): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate) || requests <= 0) return "no traffic";
  return `${formatPercent(rate)} errors`;
}

export function formatRequests(requests: number): string {
  return plural(requests, "request");
}

/** An error rate worth pointing at: above the 5% the hub calls degraded. */
export function isErrorRateHigh(rate: number | null | undefined): boolean {
  return typeof rate === "number" && rate > 0.05;
}

// ---- KPI tiles -----------------------------------------------------------------------------

export type Tone = "ok" | "warn" | "bad" | "neutral";

export interface Figure {
  /** data-testid suffix, e.g. "build-success". */
  id: string;
  label: string;
  value: string;
  hint: string;
  tone: Tone;
  /** An in-app link that explains the figure. */
  href?: string;
  linkLabel?: string;
}

/** 93.456 (already a percentage) → "93.5%". */
export function formatPct(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return "—";
  return `${oneDecimal.format(pct)}%`;
}

/** Hours as hours: 0.05 → "0.05 h", 3.25 → "3.3 h", 27.6 → "28 h". */
export function formatHours(hours: number | null | undefined): string {
  if (hours === null || hours === undefined || !Number.isFinite(hours) || hours < 0) return "—";
  if (hours === 0) return "0 h";
  if (hours < 0.1) return `${Number(hours.toFixed(2))} h`;
  if (hours < 10) return `${Number(hours.toFixed(1))} h`;
  return `${formatCount(Math.round(hours))} h`;
}

/** The worse of two tones. */
function worst(a: Tone, b: Tone): Tone {
  const rank: Record<Tone, number> = { neutral: 0, ok: 1, warn: 2, bad: 3 };
  return rank[a] >= rank[b] ? a : b;
}

export function successTone(pct: number | null): Tone {
  if (pct === null) return "neutral";
  return pct >= 95 ? "ok" : pct >= 80 ? "warn" : "bad";
}

/** 14.4× over an hour is the classic fast-burn page; above 1× the budget runs out early. */
export function burnTone(rate: number | null): Tone {
  if (rate === null) return "neutral";
  return rate >= 14.4 ? "bad" : rate > 1 ? "warn" : "ok";
}

export function budgetTone(remaining: number | null): Tone {
  const level = budgetView(remaining).level;
  if (level === "none") return "neutral";
  return level === "ok" ? "ok" : level === "low" ? "warn" : "bad";
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

export function kpiFigures(k: Kpis): Figure[] {
  const budget = budgetView(k.lowestErrorBudget);
  return [
    {
      id: "build-success",
      label: "Build success (7 d)",
      value: formatPct(k.buildSuccessPct),
      hint: k.runs7d ? `of ${plural(k.runs7d, "finished run")} in the last 7 days` : "no finished runs in the last 7 days",
      tone: successTone(k.buildSuccessPct),
    },
    {
      id: "lead-time",
      label: "Lead time, run → prod",
      value: formatHours(k.leadTimeToProdHours),
      hint:
        k.leadTimeToProdHours === null
          ? "no prod rollout yet"
          : "mean from run start to a completed prod rollout, last 30 days",
      tone: "neutral",
    },
    {
      id: "p95-build",
      label: "p95 build duration",
      value: formatDuration(k.p95BuildMs),
      hint: k.p95BuildMs === null ? "no finished runs in the last 7 days" : "95th percentile of finished runs, last 7 days",
      tone: "neutral",
    },
    {
      id: "burn",
      label: "Worst burn rate (1 h)",
      value: formatBurnRate(k.worstBurnRate1h),
      hint:
        k.worstBurnRate1h === null && k.lowestErrorBudget === null
          ? "no SLO has data yet"
          : `lowest error budget: ${k.lowestErrorBudget === null ? "no data yet" : lowerFirst(budget.label)}`,
      tone: worst(burnTone(k.worstBurnRate1h), budgetTone(k.lowestErrorBudget)),
    },
    {
      id: "spend",
      label: "Spend (24 h)",
      value: formatUsd(k.spend24hUsd),
      hint: `${formatUsd(k.spend7dUsd)} in the last 7 days`,
      tone: "neutral",
    },
    {
      id: "queue",
      label: "Queue depth",
      value: formatCount(k.queueDepth),
      hint: k.queueDepth === 1 ? "step of an active run not finished yet" : "steps of active runs not finished yet",
      tone: "neutral",
    },
  ];
}

// ---- compliance ----------------------------------------------------------------------------

/** "12 / 15"; with the share when there is a whole to share: "80%". */
export function formatRatio(part: number, whole: number): string {
  return `${formatCount(part)} / ${formatCount(whole)}`;
}

export function shareOf(part: number, whole: number): string {
  return whole > 0 ? formatPercent(part / whole) : "—";
}

function coverageTone(part: number, whole: number): Tone {
  if (whole <= 0) return "neutral";
  return part >= whole ? "ok" : "warn";
}

export const DENIED_DECISIONS_HREF = "/policies/decisions?allowed=false";

export function complianceFigures(c: Compliance): Figure[] {
  return [
    {
      id: "provenance",
      label: "Runs with provenance (7 d)",
      value: formatRatio(c.runsWithProvenance7d, c.successfulRuns7d),
      hint: c.successfulRuns7d
        ? `${shareOf(c.runsWithProvenance7d, c.successfulRuns7d)} of successful runs carry a provenance attestation`
        : "no successful runs in the last 7 days",
      tone: coverageTone(c.runsWithProvenance7d, c.successfulRuns7d),
    },
    {
      id: "signed",
      label: "Signed artifacts (7 d)",
      value: formatCount(c.signedArtifacts7d),
      hint: "signatures recorded on successful runs",
      tone: "neutral",
    },
    {
      id: "sbom",
      label: "SBOM diffs OK",
      value: formatRatio(c.sbomDiffsOk, c.sbomRunsChecked),
      hint: c.sbomRunsChecked
        ? "recent successful runs without a downgrade or a same-version hash change"
        : "no recent successful run has an SBOM yet",
      tone: coverageTone(c.sbomDiffsOk, c.sbomRunsChecked),
    },
    {
      id: "denials",
      label: "Policy denials (24 h)",
      value: formatCount(c.policyDenials24h),
      hint: c.policyDenials24h ? "decisions the policies denied in the last 24 hours" : "no policy denied anything in the last 24 hours",
      tone: c.policyDenials24h ? "warn" : "ok",
      href: DENIED_DECISIONS_HREF,
      linkLabel: "Review the denied decisions",
    },
    {
      id: "evidence",
      label: "Evidence bundles (7 d)",
      value: formatCount(c.evidenceBundles7d),
      hint: c.evidenceBundlesFailed7d
        ? `generated; ${plural(c.evidenceBundlesFailed7d, "bundle")} failed`
        : "generated; none failed",
      tone: c.evidenceBundlesFailed7d ? "bad" : "neutral",
    },
  ];
}

// ---- what's hot and cold -------------------------------------------------------------------

export interface HotCold {
  since: string | null;
  flakyTests: FlakyTest[];
  flakyPipelines: FlakyPipeline[];
  slowestSteps: SlowStep[];
  noisyAlerts: NoisyAlert[];
  topCostCenters: CostCenter[];
}

type Row = Record<string, unknown>;
const isRow = (v: unknown): v is Row => typeof v === "object" && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === "string";
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function rows<T>(value: unknown, pick: (r: Row) => T | null): T[] {
  if (!Array.isArray(value)) return [];
  const out: T[] = [];
  for (const v of value) {
    const item = isRow(v) ? pick(v) : null;
    if (item) out.push(item);
  }
  return out;
}

/** `hotCold` is an open object in the API's schema: keep only the rows whose fields check out. */
export function parseHotCold(raw: unknown): HotCold {
  const h = isRow(raw) ? raw : {};
  return {
    since: isStr(h.since) ? h.since : null,
    flakyTests: rows(h.flakyTests, (r) =>
      isStr(r.pipeline) && isStr(r.test) && isNum(r.commits) ? { pipeline: r.pipeline, test: r.test, commits: r.commits } : null,
    ),
    flakyPipelines: rows(h.flakyPipelines, (r) =>
      isStr(r.pipeline) && isNum(r.commits) ? { pipeline: r.pipeline, commits: r.commits } : null,
    ),
    slowestSteps: rows(h.slowestSteps, (r) =>
      isStr(r.pipeline) && isStr(r.step) && isNum(r.p95Ms) && isNum(r.samples)
        ? { pipeline: r.pipeline, step: r.step, p95Ms: r.p95Ms, samples: r.samples }
        : null,
    ),
    noisyAlerts: rows(h.noisyAlerts, (r) =>
      isStr(r.fingerprint) && isStr(r.name) && isNum(r.fires) && isNum(r.firesPerDay)
        ? { fingerprint: r.fingerprint, name: r.name, fires: r.fires, firesPerDay: r.firesPerDay }
        : null,
    ),
    topCostCenters: rows(h.topCostCenters, (r) =>
      isStr(r.dimension) && isStr(r.value) && isNum(r.costUsd) ? { dimension: r.dimension, value: r.value, costUsd: r.costUsd } : null,
    ),
  };
}

export function formatCommits(n: number): string {
  return plural(n, "commit");
}

export function formatFires(n: number): string {
  return plural(n, "fire");
}
