import { EnvLink } from "@/components/env-link";
import { Skeleton } from "@/components/ui/skeleton";
import { cn } from "@/lib/utils";
import type { Figure, Tone } from "./hub-model";

/** The tone is an accent only: the figure and its hint say the same in words. */
const TONE_ACCENT: Record<Tone, string> = {
  ok: "border-l-emerald-600 dark:border-l-emerald-400",
  warn: "border-l-amber-500 dark:border-l-amber-400",
  bad: "border-l-red-600 dark:border-l-red-400",
  neutral: "border-l-border",
};

const TILE = "grid content-start gap-1 rounded-lg border border-l-4 bg-card p-4 text-card-foreground";

/** Labelled figures, each with a hint line: a description list whose groups are tiles. */
export function FigureTiles({ figures, testIdPrefix, className }: { figures: Figure[]; testIdPrefix: string; className?: string }) {
  return (
    <dl className={cn("grid gap-3", className)}>
      {figures.map((f) => (
        <div key={f.id} data-testid={`${testIdPrefix}-${f.id}`} data-tone={f.tone} className={cn(TILE, TONE_ACCENT[f.tone])}>
          <dt className="text-sm text-muted-foreground">{f.label}</dt>
          <dd className="text-2xl font-semibold tracking-tight tabular-nums">{f.value}</dd>
          <dd className="text-xs text-muted-foreground">{f.hint}</dd>
          {f.href && f.linkLabel ? (
            <dd className="pt-1 text-sm">
              <EnvLink to={f.href} className="underline underline-offset-4 hover:no-underline">
                {f.linkLabel}
              </EnvLink>
            </dd>
          ) : null}
        </div>
      ))}
    </dl>
  );
}

export function FigureSkeletons({ count, label, className }: { count: number; label: string; className?: string }) {
  return (
    <div className={cn("grid gap-3", className)} aria-busy="true">
      {Array.from({ length: count }, (_, i) => (
        <div key={i} className={cn(TILE, TONE_ACCENT.neutral)}>
          <Skeleton className="h-4 w-28" />
          <Skeleton className="h-7 w-20" />
          <Skeleton className="h-3 w-40 max-w-full" />
        </div>
      ))}
      <span className="sr-only" role="status">
        Loading {label}…
      </span>
    </div>
  );
}
