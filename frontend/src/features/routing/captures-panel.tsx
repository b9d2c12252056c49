import { useQuery } from "@tanstack/react-query";
import { routingCapturesOptions } from "@/client/@tanstack/react-query.gen";
import { ErrorState } from "@/components/error-state";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { isStatus } from "@/lib/api-error";
import { formatDateTime } from "@/lib/format";
import { useCan } from "@/features/auth/session";
import { candidateKey, formatPercent, type RoutingClass } from "./model";

const NO_GRANT =
  "Reading captures needs the routing:read-captures permission (they hold prompts, and every read is audited): an administrator grants it with a role binding (Users & roles).";

/** Sampled requests and answers of a class that opted in to capture (redacted), newest first. */
export function CapturesPanel({ cls }: { cls: RoutingClass }) {
  const mayRead = useCan("routing:read-captures");
  const q = useQuery({ ...routingCapturesOptions({ query: { class: cls.name, limit: 20 } }), enabled: mayRead });
  const cap = cls.capture;
  const settings = cap?.enabled
    ? `Capturing ${formatPercent(cap.sampleRate ?? 0.1)} of requests, kept ${cap.retentionDays ?? 7} days, redacted by ${cap.redact?.length ?? 0} pattern${cap.redact?.length === 1 ? "" : "s"}.`
    : "Capture is off for this class: switch it on in the policy sheet.";
  const denied = !mayRead || isStatus(q.error, 403);
  return (
    <Card aria-labelledby="captures-title">
      <CardHeader>
        <CardTitle id="captures-title">Captures</CardTitle>
        <CardDescription>{settings}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-2">
        {denied ? (
          <p className="text-sm text-muted-foreground" data-testid="captures-denied">
            {NO_GRANT}
          </p>
        ) : q.error ? (
          <ErrorState error={q.error} title="Could not load the captures" compact onRetry={() => void q.refetch()} />
        ) : q.isPending ? (
          <div aria-busy="true">
            <span className="sr-only" role="status">
              Loading the captures…
            </span>
            <Skeleton className="h-16 w-full" />
          </div>
        ) : !q.data.items.length ? (
          <p className="text-sm text-muted-foreground">No captures in the retention window.</p>
        ) : (
          <ul className="grid gap-2" aria-label={`Captured requests of ${cls.name}, newest first`}>
            {q.data.items.map((c) => (
              <li key={c.id} className="rounded-md border p-2 text-sm" data-testid="capture">
                <details>
                  <summary className="cursor-pointer">
                    {formatDateTime(c.ts, true)} · <span className="font-mono text-xs">{candidateKey(c)}</span> · {c.status} · {c.endpoint}
                    {c.stream ? " (stream)" : ""}
                  </summary>
                  <div className="grid gap-2 pt-2">
                    <p className="text-xs text-muted-foreground">Why this candidate: {c.reason}</p>
                    <p className="text-xs font-medium">Request</p>
                    <pre className="max-h-48 overflow-auto rounded bg-muted p-2 text-xs whitespace-pre-wrap">{c.request}</pre>
                    <p className="text-xs font-medium">Response</p>
                    <pre className="max-h-48 overflow-auto rounded bg-muted p-2 text-xs whitespace-pre-wrap">{c.response}</pre>
                  </div>
                </details>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
