import { useQuery } from "@tanstack/react-query";
import { ActivityIcon } from "lucide-react";
import { useId, useState } from "react";
import { DataTable, type Column } from "@/components/data-table";
import { Badge } from "@/components/ui/badge";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import type { StreamState } from "@/lib/sse";
import { EventFeed } from "./event-feed";
import {
  candidateKey,
  formatMs,
  formatPercent,
  formatUsd,
  trafficWindow,
  type CandidateTraffic,
  type RequestRecord,
} from "./model";
import { requestsQueryOptions } from "./queries";
import { ShareBar } from "./score-bar";

const WINDOWS = [100, 200, 500] as const;
const RECENT = 12;

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="grid gap-0.5">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-lg font-semibold tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

const byCandidate: Column<CandidateTraffic>[] = [
  { id: "candidate", header: "Candidate", cell: (c) => <span className="font-mono text-sm">{c.key}</span> },
  {
    id: "requests",
    header: "Requests",
    cell: (c) => (
      <span className="inline-flex items-center gap-2 tabular-nums">
        <ShareBar share={c.share} label={`Share of the window's requests served by ${c.key}`} />
        <span data-testid="traffic-requests">{c.requests}</span>
        <span className="text-xs text-muted-foreground">({formatPercent(c.share)})</span>
      </span>
    ),
  },
  {
    id: "success",
    header: "Success",
    cell: (c) => (
      <span className={c.successRate < 0.99 ? "font-medium text-danger tabular-nums" : "tabular-nums"} data-testid="traffic-success">
        {formatPercent(c.successRate)}
      </span>
    ),
  },
  { id: "p50", header: "Latency p50", cell: (c) => <span className="tabular-nums whitespace-nowrap">{formatMs(c.p50)}</span> },
  { id: "p95", header: "Latency p95", cell: (c) => <span className="tabular-nums whitespace-nowrap">{formatMs(c.p95)}</span> },
  {
    id: "failover",
    header: "After failover",
    cell: (c) => <span className="tabular-nums" title="Served after another candidate failed (attempts > 1)">{c.failedOver}</span>,
  },
  {
    id: "tokens",
    header: "Tokens",
    cell: (c) => (
      <span className="tabular-nums whitespace-nowrap" title={c.estimated ? "Some are the gateway's estimate (no usage reported)" : undefined}>
        {c.tokens.toLocaleString()}
        {c.estimated ? " (est.)" : ""}
      </span>
    ),
  },
  { id: "usd", header: "Spend", cell: (c) => <span className="tabular-nums">{formatUsd(c.usd)}</span> },
];

function recentColumns(showClass: boolean): Column<RequestRecord>[] {
  return [
    {
      id: "ts",
      header: "Time",
      cell: (r) => (
        <time dateTime={r.ts} className="tabular-nums whitespace-nowrap">
          {new Date(r.ts).toLocaleTimeString()}
        </time>
      ),
    },
    ...(showClass ? [{ id: "class", header: "Class", cell: (r: RequestRecord) => r.routeClass || "—" }] : []),
    {
      id: "candidate",
      header: "Served by",
      cell: (r) => (
        <span className="font-mono text-xs" data-testid="recent-candidate">
          {candidateKey(r)}
        </span>
      ),
    },
    {
      id: "status",
      header: "Status",
      cell: (r) => (
        <Badge variant={r.status >= 200 && r.status < 300 ? "success" : "danger"}>
          {r.status}
          {r.broken ? " (stream broke)" : ""}
        </Badge>
      ),
    },
    { id: "attempts", header: "Attempts", cell: (r) => <span className="tabular-nums">{r.attempts}</span> },
    { id: "reason", header: "Why", cell: (r) => <span className="text-xs">{r.reason || "—"}</span> },
    {
      id: "latency",
      header: "Latency",
      cell: (r) => (
        <span className="tabular-nums whitespace-nowrap" title={`upstream ${formatMs(r.upstreamMs)} + gateway ${formatMs(r.addedMs)}`}>
          {formatMs(r.upstreamMs + r.addedMs)}
        </span>
      ),
    },
    {
      id: "tokens",
      header: "Tokens",
      cell: (r) => (
        <span className="tabular-nums">
          {r.promptTokens + r.completionTokens}
          {r.estimated ? " (est.)" : ""}
        </span>
      ),
    },
    { id: "usd", header: "Cost", cell: (r) => <span className="tabular-nums">{formatUsd(r.usd)}</span> },
  ];
}

/**
 * Traffic & health: the newest requests of the gateway's request log (polled) per candidate, with
 * success, latency percentiles, tokens and spend; the newest requests one by one; and the live
 * feed of failovers, cooldowns and changes from the stream.
 */
export function TrafficPanel({ cls, stream }: { cls?: string; stream: StreamState }) {
  const [limit, setLimit] = useState<number>(200);
  const selectId = useId();
  const q = useQuery(requestsQueryOptions(limit, cls));
  const rows = q.data?.items;
  const w = rows ? trafficWindow(rows) : null;
  const span = w && w.from !== null && w.to !== null ? `${new Date(w.from).toLocaleTimeString()} – ${new Date(w.to).toLocaleTimeString()}` : "";
  return (
    <div className="grid min-w-0 grid-cols-1 gap-6 xl:grid-cols-[minmax(0,1fr)_22rem]">
      <div className="grid min-w-0 grid-cols-1 content-start gap-4">
        <div className="flex flex-wrap items-end justify-between gap-3">
          <p className="max-w-xl text-sm text-muted-foreground">
            The gateway&apos;s request log{cls ? ` for ${cls}` : ""}: each request with the candidate that served it and why, read
            again every 2 s. Figures are over the window shown{span ? ` (${span})` : ""}.
          </p>
          <div className="grid gap-1.5">
            <Label htmlFor={selectId}>Window</Label>
            <NativeSelect id={selectId} className="w-44" value={String(limit)} onChange={(e) => setLimit(Number(e.target.value))}>
              {WINDOWS.map((n) => (
                <option key={n} value={n}>
                  Last {n} requests
                </option>
              ))}
            </NativeSelect>
          </div>
        </div>
        {w && w.requests ? (
          <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4" aria-label="The window's totals">
            <Stat label="Requests" value={String(w.requests)} testId="traffic-total" />
            <Stat label="Tokens per second" value={w.tokensPerSecond === null ? "—" : w.tokensPerSecond.toFixed(1)} />
            <Stat label="Spend per minute" value={w.usdPerMinute === null ? "—" : formatUsd(w.usdPerMinute)} />
            <Stat label="Spend in the window" value={formatUsd(w.usd)} />
          </dl>
        ) : null}
        <DataTable
          caption={`Traffic by candidate${cls ? ` of ${cls}` : ""}, busiest first`}
          columns={byCandidate}
          rows={w?.candidates}
          rowKey={(c) => c.key}
          isPending={q.isPending}
          error={q.error}
          errorTitle="Could not load the request log"
          onRetry={() => void q.refetch()}
          skeletonRows={2}
          empty={{
            icon: ActivityIcon,
            title: "No requests yet",
            description: `Requests sent to the gateway's /v1 endpoints with a gateway key${cls ? ` that match ${cls}` : ""} appear here within a refresh interval of the gateway (1 s by default).`,
          }}
        />
        {rows?.length ? (
          <section aria-labelledby={`${selectId}-recent`} className="grid min-w-0 gap-2">
            <h3 id={`${selectId}-recent`} className="text-sm font-semibold">
              Newest requests
            </h3>
            <DataTable
              caption={`The newest requests${cls ? ` of ${cls}` : ""}, newest first`}
              columns={recentColumns(!cls)}
              rows={rows.slice(0, RECENT)}
              rowKey={(r) => r.id}
              isPending={false}
              empty={{ title: "No requests", description: "" }}
            />
          </section>
        ) : null}
      </div>
      <EventFeed cls={cls} state={stream} />
    </div>
  );
}
