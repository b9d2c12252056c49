import { RunStatus, StepStatus } from "@/client/types.gen";

/** Run and step statuses come from the API's schema (maestro/states.py); these are the final ones. */
export const RUN_STATUSES: readonly RunStatus[] = Object.values(RunStatus);
export const TERMINAL_RUN = new Set<string>([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.ERROR]);
export const TERMINAL_STEP = new Set<string>([StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED]);

export const isTerminalRun = (status: string) => TERMINAL_RUN.has(status);

export type Tone = "ok" | "bad" | "live" | "wait" | "idle" | "off";

export function statusTone(status: string): Tone {
  switch (status) {
    case "succeeded":
      return "ok";
    case "failed":
    case "error":
      return "bad";
    case "running":
      return "live";
    case "waiting":
    case "paused":
      return "wait";
    case "cancelled":
    case "skipped":
      return "off";
    default:
      return "idle";
  }
}

/** Background swatches for heat strips and timeline bars (decorative; text says the status). */
export const TONE_FILL: Record<Tone, string> = {
  ok: "bg-emerald-600 dark:bg-emerald-500",
  bad: "bg-red-600 dark:bg-red-500",
  live: "bg-sky-600 dark:bg-sky-400",
  wait: "bg-amber-500 dark:bg-amber-400",
  off: "bg-zinc-400 dark:bg-zinc-500",
  idle: "bg-zinc-300 dark:bg-zinc-600",
};

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  const rs = Math.round(s % 60);
  if (m < 60) return rs ? `${m} m ${rs} s` : `${m} m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} m` : `${h} h`;
}

export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return "—";
  if (usd === 0) return "$0";
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Steps that run a process write a log: shell steps, and built-ins such as `uses: sbom`. */
export function hasLogs(step: { kind: string; logLines: number }): boolean {
  return step.kind === "run" || step.kind === "sbom" || step.logLines > 0;
}
