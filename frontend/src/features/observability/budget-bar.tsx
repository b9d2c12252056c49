import { cn } from "@/lib/utils";
import { budgetView, type BudgetLevel } from "./format";

const FILL: Record<BudgetLevel, string> = {
  ok: "bg-emerald-600 dark:bg-emerald-400",
  low: "bg-amber-500 dark:bg-amber-400",
  spent: "bg-red-600 dark:bg-red-400",
  overspent: "bg-red-600 dark:bg-red-400",
  none: "bg-muted-foreground",
};

/** Error budget remaining as a meter (clamped to 0–100%); the text says "overspent" when negative. */
export function BudgetBar({ remaining, name }: { remaining: number | null; name: string }) {
  const view = budgetView(remaining);
  return (
    <div className="grid gap-1.5" data-budget-level={view.level}>
      <div className="flex items-baseline justify-between gap-2 text-sm">
        <span className="text-muted-foreground">Error budget</span>
        <span className={cn("font-medium tabular-nums", (view.level === "overspent" || view.level === "spent") && "text-danger")}>
          {view.label}
        </span>
      </div>
      <div
        role="meter"
        aria-label={`Error budget remaining for ${name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={view.width}
        aria-valuetext={view.label}
        className="h-2 w-full overflow-hidden rounded-full bg-muted"
      >
        <div className={cn("h-full rounded-full", FILL[view.level])} style={{ width: `${view.width}%` }} />
      </div>
    </div>
  );
}
