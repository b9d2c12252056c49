import { cn } from "@/lib/utils";
import { formatScore } from "./model";

/** One score dimension (0..1) as a meter with its value beside it. */
export function ScoreBar({ value, label, strong = false }: { value: number; label: string; strong?: boolean }) {
  const v = Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0));
  return (
    <span className="inline-flex items-center gap-2">
      <span
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={1}
        aria-valuenow={Number(v.toFixed(3))}
        aria-valuetext={formatScore(v)}
        className="inline-block h-2 w-16 shrink-0 overflow-hidden rounded-full bg-muted"
      >
        <span
          className={cn("block h-full rounded-full", strong ? "bg-emerald-600 dark:bg-emerald-400" : "bg-sky-600 dark:bg-sky-400")}
          style={{ width: `${v * 100}%` }}
        />
      </span>
      <span className={cn("text-sm tabular-nums", strong && "font-semibold")}>{formatScore(v)}</span>
    </span>
  );
}

/** A share (0..1) of the window's requests as a small bar. */
export function ShareBar({ share, label }: { share: number; label: string }) {
  const v = Math.min(1, Math.max(0, share));
  return (
    <span
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(v * 100)}
      aria-valuetext={`${Math.round(v * 100)}%`}
      className="inline-block h-2 w-16 shrink-0 overflow-hidden rounded-full bg-muted"
    >
      <span className="block h-full rounded-full bg-sky-600 dark:bg-sky-400" style={{ width: `${v * 100}%` }} />
    </span>
  );
}
