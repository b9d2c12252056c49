import { cn } from "@/lib/utils";

/**
 * The canary's share of traffic as a meter: small with the number beside it (tables), or large
 * without it (where the number is already shown big).
 */
export function WeightBar({ weight, label, size = "sm", className }: { weight: number; label: string; size?: "sm" | "lg"; className?: string }) {
  const w = Math.min(100, Math.max(0, weight));
  return (
    <span className={cn("inline-flex items-center gap-2", className)}>
      <span
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={w}
        aria-valuetext={`${w}%`}
        className={cn("inline-block shrink-0 overflow-hidden rounded-full bg-muted", size === "lg" ? "h-3 w-48" : "h-2 w-16")}
      >
        <span className="block h-full rounded-full bg-sky-600 dark:bg-sky-400" style={{ width: `${w}%` }} />
      </span>
      {size === "sm" ? <span className="text-sm tabular-nums">{w}%</span> : null}
    </span>
  );
}
