import { EmptyState } from "@/components/empty-state";
import { cn } from "@/lib/utils";
import { formatDuration, statusTone, TONE_FILL } from "./format";
import type { RunDetail } from "./queries";
import { elapsedMs } from "./use-now";

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : NaN);

/**
 * A Gantt chart of the run's steps on a shared time axis: one bar per attempt (earlier, failed
 * attempts fainter), the current one to now while it runs. Retried steps show their attempt number.
 */
export function RunTimeline({ run, now }: { run: RunDetail; now: number }) {
  const earlier = (s: RunDetail["steps"][number]) =>
    (s.attempts ?? []).filter((a) => a.attempt < s.attempt && a.startedAt && a.finishedAt);
  const starts = [ms(run.startedAt), ...run.steps.flatMap((s) => [ms(s.startedAt), ...earlier(s).map((a) => ms(a.startedAt))])].filter(
    (t) => !Number.isNaN(t),
  );
  if (!starts.length) {
    return (
      <EmptyState
        title="Nothing has started yet"
        description="Bars appear here as steps start; the run is queued or waiting for a runner of its pool."
      />
    );
  }
  const t0 = Math.min(...starts);
  const ends = [ms(run.finishedAt), ...run.steps.map((s) => ms(s.finishedAt))].filter((t) => !Number.isNaN(t));
  const t1 = Math.max(run.finishedAt ? ms(run.finishedAt) : now, ...ends, t0 + 1000);
  const span = t1 - t0;
  const pct = (t: number) => `${Math.max(0, Math.min(100, ((t - t0) / span) * 100))}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <div className="grid gap-2" data-testid="run-timeline">
      <div className="grid grid-cols-[minmax(8rem,14rem)_1fr] gap-x-3 text-xs text-muted-foreground" aria-hidden="true">
        <span />
        <div className="relative h-4">
          {ticks.map((f) => (
            <span
              key={f}
              className={cn("absolute whitespace-nowrap", f === 1 ? "-translate-x-full" : f > 0 ? "-translate-x-1/2" : undefined)}
              style={{ left: `${f * 100}%` }}
            >
              +{formatDuration(span * f)}
            </span>
          ))}
        </div>
      </div>
      <ol className="grid gap-1.5" aria-label="Step timeline">
        {run.steps.map((s) => {
          const start = ms(s.startedAt);
          const running = !s.finishedAt && !Number.isNaN(start) && (s.status === "running" || s.status === "waiting");
          const end = s.finishedAt ? ms(s.finishedAt) : running ? now : NaN;
          const dur = s.durationMs ?? elapsedMs(s.startedAt, s.finishedAt, now);
          const offset = Number.isNaN(start) ? null : start - t0;
          const describe = [
            s.status,
            offset !== null ? `started at +${formatDuration(offset)}` : "not started",
            dur !== null ? `took ${formatDuration(dur)}${running ? " so far" : ""}` : null,
            s.attempt > 1 ? `attempt ${s.attempt}` : null,
            ...earlier(s).map(
              (a) => `attempt ${a.attempt} ${a.status} after ${formatDuration(ms(a.finishedAt) - ms(a.startedAt))}`,
            ),
          ]
            .filter(Boolean)
            .join(", ");
          return (
            <li key={s.key} className="grid grid-cols-[minmax(8rem,14rem)_1fr] items-center gap-x-3" data-step={s.key} data-status={s.status}>
              <div className="flex min-w-0 items-center gap-2">
                <span className="truncate text-sm font-medium" title={s.key}>
                  {s.name || s.key}
                </span>
                {s.attempt > 1 ? <span className="shrink-0 text-xs text-muted-foreground">#{s.attempt}</span> : null}
              </div>
              <div className="relative h-6 rounded bg-muted">
                <span className="sr-only">{describe}</span>
                {earlier(s).map((a) => (
                  <span
                    key={a.attempt}
                    aria-hidden="true"
                    title={`attempt ${a.attempt}: ${a.status}${a.exitCode !== null && a.exitCode !== undefined ? ` (exit ${a.exitCode})` : ""}`}
                    data-attempt={a.attempt}
                    className={cn("absolute top-1 bottom-1 min-w-1 rounded-sm opacity-50", TONE_FILL[statusTone(a.status)])}
                    style={{ left: pct(ms(a.startedAt)), width: `calc(${pct(ms(a.finishedAt))} - ${pct(ms(a.startedAt))})` }}
                  />
                ))}
                {!Number.isNaN(start) && !Number.isNaN(end) ? (
                  <span
                    aria-hidden="true"
                    title={describe}
                    className={cn(
                      "absolute top-1 bottom-1 min-w-1 rounded-sm",
                      TONE_FILL[statusTone(s.status)],
                      running && "bg-stripes",
                    )}
                    style={{ left: pct(start), width: `calc(${pct(end)} - ${pct(start)})` }}
                  />
                ) : (
                  <span aria-hidden="true" className="absolute inset-0 flex items-center px-2 text-xs text-muted-foreground">
                    {s.status}
                  </span>
                )}
              </div>
            </li>
          );
        })}
      </ol>
      <div className="flex flex-wrap gap-3 pt-1 text-xs text-muted-foreground" aria-hidden="true">
        {["succeeded", "running", "waiting", "failed", "skipped"].map((st) => (
          <span key={st} className="flex items-center gap-1">
            <span className={cn("inline-block size-3 rounded-sm", TONE_FILL[statusTone(st)])} />
            {st}
          </span>
        ))}
      </div>
    </div>
  );
}
