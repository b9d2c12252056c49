import { RadioTowerIcon } from "lucide-react";
import { useId, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Checkbox } from "@/components/ui/checkbox";
import type { StreamState } from "@/lib/sse";
import { concernsClass, describeEvent, type EventTone } from "./model";
import { useRoutingFeed, type FeedItem } from "./queries";

const SHOWN = 25;

const TONE: Record<EventTone, "danger" | "warning" | "success" | "secondary"> = {
  danger: "danger",
  warning: "warning",
  success: "success",
  info: "secondary",
};

const KIND: Record<FeedItem["event"]["type"], string> = {
  routing_decision: "decision",
  routing_failover: "failover",
  routing_cooldown: "cooldown",
  routing_stream_broken: "stream broken",
  routing_pinned: "pinned",
  routing_unpinned: "unpinned",
  routing_killed: "switched off",
  routing_revived: "switched on",
  routing_downgraded: "downgraded",
  routing_restored: "restored",
};

export function StreamBadge({ state }: { state: StreamState }) {
  return state === "open" ? (
    <Badge variant="success">
      <RadioTowerIcon aria-hidden="true" />
      Live
    </Badge>
  ) : (
    <Badge variant="outline" title="The event stream reconnects by itself">
      {state === "connecting" ? "Connecting…" : "Not live"}
    </Badge>
  );
}

/**
 * Routing events from `/api/streams/routing` since the page opened, newest first: failovers,
 * cooldowns, broken streams, pins, kill switches and downgrades; the gateway's sampled decisions
 * on request.
 */
export function EventFeed({ cls, state }: { cls?: string; state: StreamState }) {
  const feed = useRoutingFeed();
  const [decisions, setDecisions] = useState(false);
  const checkId = useId();
  const items = (decisions ? [...feed.changes, ...feed.decisions].sort((a, b) => b.seq - a.seq) : feed.changes).filter((i) =>
    concernsClass(i.event, cls),
  );
  return (
    <section aria-labelledby={`${checkId}-title`} className="grid min-w-0 gap-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h3 id={`${checkId}-title`} className="text-sm font-semibold">
          Failovers, cooldowns and changes
        </h3>
        <StreamBadge state={state} />
      </div>
      <div className="flex items-center gap-2">
        <Checkbox id={checkId} checked={decisions} onCheckedChange={(c) => setDecisions(c === true)} />
        <label htmlFor={checkId} className="text-sm">
          Show sampled decisions (one per class per gateway refresh)
        </label>
      </div>
      {items.length ? (
        <div role="log" aria-label="Routing events, newest first">
          <ol className="grid gap-2">
            {items.slice(0, SHOWN).map(({ seq, event }) => {
              const v = describeEvent(event);
              return (
                <li key={seq} className="grid gap-0.5 rounded-md border p-2 text-sm" data-testid="routing-event" data-type={event.type}>
                  <span className="flex flex-wrap items-center gap-2">
                    <Badge variant={TONE[v.tone]}>{KIND[event.type]}</Badge>
                    <time className="text-xs text-muted-foreground tabular-nums" dateTime={event.ts}>
                      {new Date(event.ts).toLocaleTimeString()}
                    </time>
                  </span>
                  <span className="font-medium break-words">{v.title}</span>
                  {v.detail ? <span className="text-xs break-words text-muted-foreground">{v.detail}</span> : null}
                </li>
              );
            })}
          </ol>
        </div>
      ) : null}
      {items.length > SHOWN ? <p className="text-xs text-muted-foreground">The newest {SHOWN} of {items.length} are shown.</p> : null}
      {items.length ? null : (
        <p className="text-sm text-muted-foreground">
          Nothing yet since this page opened. Failovers, cooldowns, pins, kill switches and downgrades
          {cls ? ` of ${cls}` : ""} appear here as they happen.
        </p>
      )}
    </section>
  );
}
