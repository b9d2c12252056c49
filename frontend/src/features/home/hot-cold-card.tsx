import { ArrowRightIcon, BellRingIcon, CoinsIcon, FlaskConicalIcon, TimerIcon, type LucideIcon } from "lucide-react";
import type { ReactNode } from "react";
import { EnvLink } from "@/components/env-link";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import { useCan } from "@/features/auth/session";
import { dimensionLabel, formatRate, formatUsd } from "@/features/observability/insights";
import { formatDuration } from "@/features/runs/format";
import { formatCommits, formatFires, type HotCold } from "./hub-model";

interface Item {
  key: string;
  /** What it is (a test, a step, an alert, a cost center). */
  name: ReactNode;
  /** Where it belongs (its pipeline, its rate, its dimension). */
  detail: ReactNode;
  figure: string;
}

function HotList({ id, title, icon: Icon, items, empty }: { id: string; title: string; icon: LucideIcon; items: Item[]; empty: string }) {
  const titleId = `hub-hot-${id}-title`;
  return (
    <div className="grid min-w-0 content-start gap-2" data-testid={`hot-${id}`}>
      <h3 id={titleId} className="flex items-center gap-2 text-sm font-semibold">
        <Icon className="size-4 text-muted-foreground" aria-hidden="true" />
        {title}
      </h3>
      {items.length ? (
        <ol aria-labelledby={titleId} className="grid gap-1.5">
          {items.map((i) => (
            <li key={i.key} className="flex items-baseline justify-between gap-3 border-b pb-1.5 text-sm last:border-0">
              <span className="grid min-w-0 gap-0.5">
                <span className="break-words">{i.name}</span>
                <span className="text-xs text-muted-foreground">{i.detail}</span>
              </span>
              <span className="shrink-0 font-medium whitespace-nowrap tabular-nums">{i.figure}</span>
            </li>
          ))}
        </ol>
      ) : (
        <p className="text-sm text-muted-foreground">{empty}</p>
      )}
    </div>
  );
}

const mono = (text: string) => <span className="font-mono text-xs break-all">{text}</span>;

/** The hub's slice of Insights (last 7 days, top 5 each): flaky tests, slowest steps, noisy alerts, top cost centers. */
export function HotColdCard({ hot, className }: { hot: HotCold | undefined; className?: string }) {
  const mayReadInsights = useCan("runs:read");
  return (
    <Card aria-labelledby="hub-hot-title" data-testid="hub-hot-cold" className={cn(className)}>
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-4">
        <div className="grid min-w-0 flex-1 basis-72 gap-1">
          <CardTitle id="hub-hot-title">What&apos;s hot and cold</CardTitle>
          <CardDescription>
            {hot?.since ? `The top 5 of each since ${formatDateTime(hot.since)} (last 7 days).` : "The top 5 of each over the last 7 days."}
          </CardDescription>
        </div>
        {mayReadInsights ? (
          <Button asChild variant="outline" size="sm">
            <EnvLink to="/observability/insights">
              Open insights <ArrowRightIcon aria-hidden="true" />
            </EnvLink>
          </Button>
        ) : null}
      </CardHeader>
      <CardContent>
        {!hot ? (
          <div className="grid gap-6 sm:grid-cols-2" aria-busy="true">
            {Array.from({ length: 4 }, (_, i) => (
              <div key={i} className="grid gap-2">
                <Skeleton className="h-4 w-32" />
                <Skeleton className="h-8 w-full" />
                <Skeleton className="h-8 w-full" />
              </div>
            ))}
            <span className="sr-only" role="status">
              Loading what&apos;s hot and cold…
            </span>
          </div>
        ) : (
          <div className="grid gap-6 sm:grid-cols-2">
            <HotList
              id="flaky-tests"
              title="Flaky tests"
              icon={FlaskConicalIcon}
              empty="No test passed and failed on the same commit."
              items={hot.flakyTests.map((t) => ({
                key: `${t.pipeline}\u0000${t.test}`,
                name: mono(t.test),
                detail: t.pipeline,
                figure: formatCommits(t.commits),
              }))}
            />
            <HotList
              id="slowest-steps"
              title="Slowest steps"
              icon={TimerIcon}
              empty="No step timings yet."
              items={hot.slowestSteps.map((s) => ({
                key: `${s.pipeline}\u0000${s.step}`,
                name: mono(s.step),
                detail: `${s.pipeline} · p95 of ${s.samples} ${s.samples === 1 ? "sample" : "samples"}`,
                figure: formatDuration(s.p95Ms),
              }))}
            />
            <HotList
              id="noisy-alerts"
              title="Noisy alerts"
              icon={BellRingIcon}
              empty="No alert fired."
              items={hot.noisyAlerts.map((a) => ({
                key: a.fingerprint,
                name: <span className="font-medium">{a.name}</span>,
                detail: `${formatRate(a.firesPerDay)} per day`,
                figure: formatFires(a.fires),
              }))}
            />
            <HotList
              id="cost-centers"
              title="Top cost centers"
              icon={CoinsIcon}
              empty="No run cost recorded."
              items={hot.topCostCenters.map((c) => ({
                key: `${c.dimension}\u0000${c.value}`,
                name: <span className="font-medium break-all">{c.value}</span>,
                detail: dimensionLabel(c.dimension),
                figure: formatUsd(c.costUsd),
              }))}
            />
          </div>
        )}
      </CardContent>
    </Card>
  );
}
