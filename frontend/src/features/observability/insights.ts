/** Look-back windows the insights page offers (the API accepts 1–90 days). */
export const INSIGHT_DAYS = [1, 7, 30, 90] as const;
export const DEFAULT_DAYS = 7;

/** `?days=` from the URL: one of {@link INSIGHT_DAYS}, else the default. */
export function parseDays(value: string | null | undefined): number {
  const n = Number(value);
  return (INSIGHT_DAYS as readonly number[]).includes(n) ? n : DEFAULT_DAYS;
}

export function daysLabel(days: number): string {
  return days === 1 ? "Last 24 hours" : `Last ${days} days`;
}

const usd2 = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usd4 = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 });

/** 1234.5 → "$1,234.50"; cents and below keep up to four decimals ("$0.0042"). */
export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return (Math.abs(value) < 1 ? usd4 : usd2).format(value);
}

const rate = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

/** Fires per day: at most two decimals ("0.29", "12"). */
export function formatRate(value: number): string {
  return Number.isFinite(value) ? rate.format(value) : "—";
}

/** A cost center's dimension in words: "pipeline", "environment", "label team". */
export function dimensionLabel(dimension: string): string {
  if (dimension === "env") return "environment";
  if (dimension.startsWith("label:")) return `label ${dimension.slice("label:".length)}`;
  return dimension;
}

/** The runs of one pipeline (the runs table filters by pipeline name). */
export function pipelineRunsHref(pipeline: string): string {
  return `/runs?${new URLSearchParams({ pipeline }).toString()}`;
}

/** The runs table filtered to a cost center's runs, or null for a dimension it cannot filter by. */
export function costCenterHref(dimension: string, value: string): string | null {
  if (dimension === "pipeline") return pipelineRunsHref(value);
  if (dimension === "env") return `/runs?${new URLSearchParams({ env: value }).toString()}`;
  if (dimension.startsWith("label:")) {
    const key = dimension.slice("label:".length);
    return key ? `/runs?${new URLSearchParams({ label: `${key}=${value}` }).toString()}` : null;
  }
  return null;
}
