import { useQuery } from "@tanstack/react-query";
import { GaugeIcon, TrophyIcon } from "lucide-react";
import type { CandidateScore } from "@/client/types.gen";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import {
  candidateKey,
  candidateState,
  DEFAULT_WEIGHTS,
  DIMENSION_HINTS,
  DIMENSION_LABELS,
  formatMs,
  formatPercent,
  formatSeconds,
  rankedCandidates,
  SCORE_DIMENSIONS,
  type RoutingClass,
} from "./model";
import { candidatesQueryOptions } from "./queries";
import { ScoreBar } from "./score-bar";

function StateBadges({ score, cls, winner }: { score: CandidateScore; cls: RoutingClass; winner: string | null }) {
  const s = candidateState(score, cls, winner);
  return (
    <span className="flex flex-wrap gap-1">
      {s.winner ? (
        <Badge variant="success">
          <TrophyIcon aria-hidden="true" />
          Winner
        </Badge>
      ) : null}
      {s.pinned ? <Badge variant="secondary">Pinned</Badge> : null}
      {s.downgradeTarget ? <Badge variant={cls.downgraded ? "warning" : "outline"}>{cls.downgraded ? "Downgrade (on)" : "Downgrade path"}</Badge> : null}
      {s.coolingSeconds > 0 ? (
        <Badge variant="warning" title="Repeated failures: no request goes here until the cooldown ends">
          Cooling {formatSeconds(s.coolingSeconds)}
        </Badge>
      ) : null}
      {s.killed ? (
        <Badge variant="danger" title={s.killed}>
          Switched off
        </Badge>
      ) : null}
      {s.outsidePolicy ? <Badge variant="outline">Outside the policy</Badge> : null}
    </span>
  );
}

/**
 * A class's candidates as the newest gateway replica scored them (GET /api/routing/candidates,
 * polled): each dimension as a bar, the total, the winner and why, and what takes a candidate out
 * (cooldown, kill switch, policy).
 */
export function CandidatesPanel({ cls }: { cls: RoutingClass }) {
  const q = useQuery(candidatesQueryOptions(cls.name));
  const view = q.data;
  const weights = { ...DEFAULT_WEIGHTS, ...cls.weights };
  return (
    <Card aria-labelledby="candidates-title">
      <CardHeader>
        <CardTitle id="candidates-title">Candidates</CardTitle>
        <CardDescription>
          Live scores from the gateway, best first: the weighted mean of latency (×{weights.latency}), cost (×{weights.cost}),
          reliability (×{weights.reliability}) and policy (×{weights.policy}), each from 0 to 1. Refreshed every couple of seconds.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {q.error && !view ? (
          <ErrorState error={q.error} title="Could not load the live scores" onRetry={() => void q.refetch()} compact />
        ) : !view ? (
          <div className="grid gap-2" aria-busy="true">
            <span className="sr-only" role="status">
              Loading the live scores…
            </span>
            <Skeleton className="h-12 w-full" />
            <Skeleton className="h-24 w-full" />
          </div>
        ) : view.replicas === 0 ? (
          <EmptyState
            icon={GaugeIcon}
            title="No live scores yet"
            description={
              <>
                <span data-testid="routing-why">{view.why}</span> Scores appear once a gateway replica has loaded this class (within
                its refresh interval); latency and reliability once requests flow.
              </>
            }
          />
        ) : (
          <>
            <div
              className={cn(
                "flex flex-wrap items-start gap-3 rounded-lg border p-3",
                view.winner ? "border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950/40" : "bg-muted/40",
              )}
              aria-live="polite"
            >
              <TrophyIcon className="mt-0.5 size-5 shrink-0" aria-hidden="true" />
              <div className="grid min-w-0 gap-0.5 text-sm">
                <p className="font-semibold">
                  {view.winner ? (
                    <>
                      Requests go to <span className="font-mono" data-testid="routing-winner">{view.winner}</span>
                    </>
                  ) : (
                    "No single winner"
                  )}
                </p>
                <p data-testid="routing-why">Why: {view.why}</p>
                <p className="text-xs text-muted-foreground">
                  Reported by {view.replicas} gateway {view.replicas === 1 ? "replica" : "replicas"}
                  {view.reportedAt ? `, ${formatDateTime(view.reportedAt, true)}` : ""}.
                </p>
              </div>
            </div>
            <div className="rounded-lg border">
              <Table label={`Candidates of ${cls.name}`}>
                <TableCaption className="sr-only">Candidates of {cls.name}, in the order requests try them</TableCaption>
                <TableHeader>
                  <TableRow className="hover:bg-transparent">
                    <TableHead scope="col">Candidate</TableHead>
                    {SCORE_DIMENSIONS.map((d) => (
                      <TableHead key={d} scope="col" title={DIMENSION_HINTS[d]}>
                        {DIMENSION_LABELS[d]}
                      </TableHead>
                    ))}
                    <TableHead scope="col">Total</TableHead>
                    <TableHead scope="col">Measured</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {rankedCandidates(view).map((c) => {
                    const key = candidateKey(c);
                    const winner = view.winner === key;
                    return (
                      <TableRow
                        key={key}
                        data-testid="routing-candidate"
                        data-candidate={key}
                        data-winner={winner || undefined}
                        className={cn(winner && "bg-emerald-50/70 hover:bg-emerald-50 dark:bg-emerald-950/30")}
                      >
                        <TableCell>
                          <span className="grid gap-1">
                            <span className="font-mono text-sm">{key}</span>
                            <StateBadges score={c} cls={cls} winner={view.winner} />
                          </span>
                        </TableCell>
                        {SCORE_DIMENSIONS.map((d) => (
                          <TableCell key={d}>
                            <ScoreBar value={c[d]} label={`${DIMENSION_LABELS[d]} score of ${key}`} />
                          </TableCell>
                        ))}
                        <TableCell>
                          <ScoreBar value={c.total} label={`Total score of ${key}`} strong />
                        </TableCell>
                        <TableCell className="text-xs whitespace-nowrap text-muted-foreground">
                          <span className="grid gap-0.5">
                            <span>latency {formatMs(c.latencyMs)}</span>
                            <span>
                              errors {formatPercent(c.errorRate)} · {c.requests} req, {c.failures} failed
                            </span>
                          </span>
                        </TableCell>
                      </TableRow>
                    );
                  })}
                </TableBody>
              </Table>
            </div>
            <p className="text-xs text-muted-foreground">
              Measured by this replica since it started: latency and errors are moving averages (EWMA) of real traffic.
            </p>
          </>
        )}
      </CardContent>
    </Card>
  );
}
