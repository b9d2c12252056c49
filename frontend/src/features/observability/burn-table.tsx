import type { BurnAlert } from "@/client/types.gen";
import { Table } from "@/components/ui/table";
import { cn } from "@/lib/utils";
import { BURN_WINDOWS, firingWindows, formatBurnRate } from "./format";

/**
 * Burn rate per window (1× = spending exactly the budget over the SLO window), with the windows of
 * firing multi-window pairs highlighted, and the pairs themselves listed underneath.
 */
export function BurnTable({ name, burnRates, burnAlerts }: { name: string; burnRates: Record<string, number | null>; burnAlerts: BurnAlert[] }) {
  const hot = firingWindows(burnAlerts);
  const firing = burnAlerts.filter((a) => a.firing);
  return (
    <div className="grid gap-2">
      {/* Table: when it scrolls sideways, its region is reachable by keyboard (axe scrollable-region-focusable) */}
      <Table label={`Burn rates for ${name} (scrolls sideways)`} className="table-fixed text-xs tabular-nums" aria-label={`Burn rates for ${name}`}>
          <thead>
            <tr>
              <th scope="row" className="w-14 pr-1 text-left font-medium text-muted-foreground">
                Window
              </th>
              {BURN_WINDOWS.map((w) => (
                <th key={w} scope="col" className={cn("px-0.5 text-right font-medium", hot.has(w) && "text-danger")}>
                  {w}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row" className="pr-1 text-left font-medium text-muted-foreground">
                Burn
              </th>
              {BURN_WINDOWS.map((w) => (
                <td
                  key={w}
                  data-firing={hot.has(w) || undefined}
                  className={cn(
                    "px-0.5 text-right",
                    hot.has(w) && "rounded-sm bg-red-100 font-semibold text-red-950 dark:bg-red-950 dark:text-red-50",
                  )}
                >
                  {formatBurnRate(burnRates[w])}
                  {hot.has(w) ? <span className="sr-only"> (firing)</span> : null}
                </td>
              ))}
            </tr>
          </tbody>
      </Table>
      {firing.length ? (
        <ul className="grid gap-1 text-xs" aria-label={`Firing burn-rate alerts for ${name}`}>
          {firing.map((a) => (
            <li key={`${a.long}/${a.short}`} className="text-danger">
              Burning: {a.long} and {a.short} both above {a.threshold}× ({a.severity})
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
