import { useQuery } from "@tanstack/react-query";
import { ChevronRightIcon, RefreshCwIcon, WaypointsIcon } from "lucide-react";
import { useEffect, useMemo, useRef, useState } from "react";
import { runsTraceOptions } from "@/client/@tanstack/react-query.gen";
import type { RunsTraceResponse } from "@/client/types.gen";
import { CopyButton } from "@/components/copy-button";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import { isTerminalRun } from "./format";
import type { RunDetail } from "./queries";
import {
  barGeometry,
  buildTraceTree,
  formatSpanDuration,
  orphanCount,
  traceBounds,
  type TraceBounds,
  type TraceNode,
} from "./trace-model";

type Span = RunsTraceResponse["spans"][number];

/** Bar swatches per service (decorative: the row says the service and the status in text). */
/** How long after a run ends the tab keeps waiting for late spans whose children already arrived. */
const SETTLE_MS = 60_000;

const SERVICE_FILL: Record<string, string> = {
  "maestro-api": "bg-sky-600 dark:bg-sky-400",
  "maestro-worker": "bg-violet-600 dark:bg-violet-400",
  "maestro-runner": "bg-emerald-600 dark:bg-emerald-500",
};
const OTHER_FILL = "bg-zinc-500 dark:bg-zinc-400";
const ERROR_FILL = "bg-red-600 dark:bg-red-500";
const fillOf = (span: Pick<Span, "service" | "status">) =>
  span.status === "error" ? ERROR_FILL : (SERVICE_FILL[span.service] ?? OTHER_FILL);

/** Name | bar | duration, shared by the axis and every row so that the bars line up. */
const COLUMNS = "grid grid-cols-[minmax(16rem,5fr)_minmax(10rem,6fr)_4.5rem] items-center gap-x-3";
const TICKS = [0, 0.25, 0.5, 0.75, 1];

const attrValue = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

function SpanDetails({ id, span, offsetMs }: { id: string; span: Span; offsetMs: number }) {
  const attributes = Object.entries(span.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div id={id} className="mt-1 mb-2 grid gap-2 rounded-md border bg-card p-3 text-sm" data-testid="span-details">
      <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1">
        <dt className="text-muted-foreground">Span id</dt>
        <dd className="font-mono text-xs break-all">{span.spanId}</dd>
        <dt className="text-muted-foreground">Started</dt>
        <dd>
          {formatDateTime(span.startTime, true)} <span className="text-muted-foreground">(+{formatSpanDuration(offsetMs)})</span>
        </dd>
        <dt className="text-muted-foreground">Duration</dt>
        <dd className="tabular-nums">{formatSpanDuration(span.durationMs)}</dd>
        <dt className="text-muted-foreground">Status</dt>
        <dd>{span.status}</dd>
      </dl>
      <p className="text-xs font-medium text-muted-foreground">Attributes</p>
      {attributes.length ? (
        <dl className="grid grid-cols-[minmax(8rem,max-content)_1fr] gap-x-4 gap-y-1">
          {attributes.map(([k, v]) => (
            <div key={k} className="contents" data-attribute={k}>
              <dt className="font-mono text-xs break-all">{k}</dt>
              <dd className="font-mono text-xs break-all">{attrValue(v)}</dd>
            </div>
          ))}
        </dl>
      ) : (
        <p className="text-muted-foreground">This span has no attributes.</p>
      )}
    </div>
  );
}

function SpanRows({
  nodes,
  bounds,
  expanded,
  onToggle,
  idPrefix,
}: {
  nodes: TraceNode<Span>[];
  bounds: TraceBounds;
  expanded: ReadonlySet<string>;
  onToggle: (spanId: string) => void;
  idPrefix: string;
}) {
  return nodes.map(({ span, depth, children }) => {
    const open = expanded.has(span.spanId);
    const bar = barGeometry(span, bounds);
    const error = span.status === "error";
    const detailsId = `${idPrefix}-${span.spanId}`;
    return (
      <li key={span.spanId} data-span-id={span.spanId} data-service={span.service} data-status={span.status} data-depth={depth}>
        <button
          type="button"
          aria-expanded={open}
          aria-controls={open ? detailsId : undefined}
          onClick={() => onToggle(span.spanId)}
          className={cn(
            COLUMNS,
            "w-full rounded-md px-1 py-1 text-left outline-none hover:bg-accent focus-visible:ring-2 focus-visible:ring-ring",
            error && "bg-red-50 hover:bg-red-100 dark:bg-red-950/50 dark:hover:bg-red-950",
          )}
        >
          <span className="flex min-w-0 items-center gap-1.5" style={{ paddingLeft: `${depth * 1}rem` }}>
            <ChevronRightIcon
              aria-hidden="true"
              className={cn("size-4 shrink-0 text-muted-foreground transition-transform", open && "rotate-90")}
            />
            <span className="truncate text-sm font-medium" title={span.name}>
              {span.name}
            </span>{" "}
            <Badge variant="outline" className="font-normal">
              <span aria-hidden="true" className={cn("inline-block size-2 rounded-full", SERVICE_FILL[span.service] ?? OTHER_FILL)} />
              {span.service}
            </Badge>
            {error ? (
              <>
                {" "}
                <Badge variant="danger">error</Badge>
              </>
            ) : null}
          </span>
          <span className="relative block h-5 rounded-sm bg-muted">
            <span className="sr-only">{`, starts at +${formatSpanDuration(bar.offsetMs)}${depth ? `, level ${depth + 1}` : ""}, took `}</span>
            <span
              aria-hidden="true"
              className={cn("absolute top-1 bottom-1 min-w-0.5 rounded-sm", fillOf(span))}
              style={{ left: `${bar.left}%`, width: `${bar.width}%` }}
            />
          </span>{" "}
          <span className="text-right text-xs tabular-nums">{formatSpanDuration(span.durationMs)}</span>
        </button>
        {open ? <SpanDetails id={detailsId} span={span} offsetMs={bar.offsetMs} /> : null}
        {children.length ? (
          <ul className="grid">
            <SpanRows nodes={children} bounds={bounds} expanded={expanded} onToggle={onToggle} idPrefix={idPrefix} />
          </ul>
        ) : null}
      </li>
    );
  });
}

/**
 * The trace waterfall (Observability tab): the run's OpenTelemetry spans — the API request that started the
 * run, the workflow under it and the step activities under that — each bar placed on the trace's
 * time axis. A row expands (click, Enter or Space) to its attributes.
 */
export function RunTrace({ run }: { run: RunDetail }) {
  const live = !isTerminalRun(run.status);
  const query = useQuery({
    ...runsTraceOptions({ path: { run_id: run.id } }),
    // Spans are written as they end: poll while the run goes on, and for a short while after it
    // ended as long as a span's parent has not arrived yet (each process exports in batches).
    refetchInterval: (q) => {
      if (live) return 5000;
      const spans = q.state.data?.spans;
      const settling = run.finishedAt != null && Date.now() - Date.parse(run.finishedAt) < SETTLE_MS;
      return settling && spans && orphanCount(spans) > 0 ? 1500 : false;
    },
  });
  const { refetch } = query;
  // The last spans (the workflow's) are exported a moment after the run ends: fetch once more.
  const wasLive = useRef(live);
  useEffect(() => {
    if (!wasLive.current || live) {
      wasLive.current = live;
      return;
    }
    wasLive.current = false;
    const t = setTimeout(() => void refetch(), 1500);
    return () => clearTimeout(t);
  }, [live, refetch]);

  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const spans = query.data?.spans;
  const tree = useMemo(() => buildTraceTree(spans ?? []), [spans]);
  const bounds = useMemo(() => traceBounds(spans ?? []), [spans]);

  if (query.isPending) {
    return (
      <div className="grid gap-2 rounded-lg border p-3" aria-busy="true">
        <span className="sr-only" role="status">
          Loading the trace…
        </span>
        {Array.from({ length: 6 }, (_, i) => (
          <Skeleton key={i} className="h-5 w-full" />
        ))}
      </div>
    );
  }
  if (query.error) {
    return <ErrorState error={query.error} title="Could not load the trace" onRetry={() => void refetch()} />;
  }

  const trace = query.data;
  if (!trace.spans.length || !bounds) {
    return (
      <EmptyState
        icon={WaypointsIcon}
        title={live ? "No spans yet" : "No spans for this run"}
        description={
          live
            ? "Spans appear here as the run's API call, workflow and steps finish; spans are kept for a limited time."
            : "Spans are kept for a limited time (MAESTRO_TRACE_RETENTION_HOURS): this run's have expired, or tracing was off when it ran. Step timings are still on the Timeline tab."
        }
        action={
          <Button variant="outline" size="sm" onClick={() => void refetch()} disabled={query.isFetching}>
            <RefreshCwIcon aria-hidden="true" /> Check again
          </Button>
        }
      />
    );
  }

  const services = new Set(trace.spans.map((s) => s.service));
  const errors = trace.spans.filter((s) => s.status === "error").length;
  const toggle = (spanId: string) =>
    setExpanded((prev) => {
      const next = new Set(prev);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });
  const summary = [
    `${trace.spans.length} span${trace.spans.length === 1 ? "" : "s"}`,
    `${services.size} service${services.size === 1 ? "" : "s"}`,
    formatSpanDuration(bounds.total),
    errors ? `${errors} error${errors === 1 ? "" : "s"}` : null,
  ]
    .filter(Boolean)
    .join(" · ");

  return (
    <div className="grid gap-3" data-testid="run-trace" data-span-count={trace.spans.length}>
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        {trace.traceId ? (
          <span className="flex min-w-0 items-center gap-1 text-sm">
            <span className="text-muted-foreground">Trace id</span>
            <span className="font-mono text-xs break-all" data-testid="trace-id">
              {trace.traceId}
            </span>
            <CopyButton value={trace.traceId} size="sm" variant="ghost" label="Copy" aria-label="Copy the trace id" />
          </span>
        ) : null}
        <p className="text-sm text-muted-foreground" role="status" aria-live="polite" data-testid="trace-status">
          {summary}
          {live ? " · live" : ""}
        </p>
        <Button variant="outline" size="sm" className="ml-auto" onClick={() => void refetch()} disabled={query.isFetching}>
          <RefreshCwIcon aria-hidden="true" /> Refresh
        </Button>
      </div>
      <div className="overflow-x-auto">
        <div className="grid min-w-2xl gap-1">
          <div className={cn(COLUMNS, "px-1 text-xs text-muted-foreground")} aria-hidden="true">
            <span>Span</span>
            <span className="relative h-4">
              {TICKS.map((f) => (
                <span
                  key={f}
                  className={cn("absolute whitespace-nowrap", f === 1 ? "-translate-x-full" : f > 0 ? "-translate-x-1/2" : undefined)}
                  style={{ left: `${f * 100}%` }}
                >
                  +{formatSpanDuration(bounds.total * f)}
                </span>
              ))}
            </span>
            <span className="text-right">Duration</span>
          </div>
          <ul className="grid" aria-label={trace.traceId ? `Spans of trace ${trace.traceId}` : "Spans"} data-testid="trace-waterfall">
            <SpanRows nodes={tree} bounds={bounds} expanded={expanded} onToggle={toggle} idPrefix={`span-${run.id}`} />
          </ul>
        </div>
      </div>
      <div className="flex flex-wrap gap-3 pt-1 text-xs text-muted-foreground" aria-hidden="true">
        {[...Object.keys(SERVICE_FILL), "error"].map((k) => (
          <span key={k} className="flex items-center gap-1">
            <span className={cn("inline-block size-3 rounded-sm", k === "error" ? ERROR_FILL : SERVICE_FILL[k])} />
            {k}
          </span>
        ))}
      </div>
    </div>
  );
}
