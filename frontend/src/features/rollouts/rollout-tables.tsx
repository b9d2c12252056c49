import { Badge } from "@/components/ui/badge";
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import { actionWords, formatValue, isFinishedRollout, outcomeVariant, parseStep, type Rollout } from "./model";

/** Why there is no measurement: no analysis step at all, none taken before the end, or not yet. */
function noMeasurementWords(rollout: Rollout): string {
  if (!rollout.steps.map(parseStep).some((s) => s.kind === "analysis")) return "This rollout has no analysis step.";
  if (isFinishedRollout(rollout.status)) return "No measurement was taken.";
  return "No measurement yet. Each analysis step measures the canary once per interval; the results appear here as they are taken.";
}

/** Every measurement the analysis steps took, oldest first. */
export function AnalysesTable({ rollout }: { rollout: Rollout }) {
  const rows = rollout.analyses;
  if (!rows.length) return <p className="text-sm text-muted-foreground">{noMeasurementWords(rollout)}</p>;
  const caption = `Analysis runs of the rollout of ${rollout.service}`;
  return (
    <div className="rounded-lg border">
      <Table label={caption}>
        <TableCaption className="sr-only">{caption}</TableCaption>
        <TableHeader>
          <TableRow className="hover:bg-transparent">
            <TableHead scope="col">Time</TableHead>
            <TableHead scope="col">Step</TableHead>
            <TableHead scope="col">Metric</TableHead>
            <TableHead scope="col">Value</TableHead>
            <TableHead scope="col">Condition</TableHead>
            <TableHead scope="col">Outcome</TableHead>
            <TableHead scope="col">Requests</TableHead>
            <TableHead scope="col">Detail</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {rows.map((a, i) => (
            <TableRow key={`${a.at}-${i}`} data-outcome={a.outcome}>
              <TableCell className="whitespace-nowrap">{formatDateTime(a.at, true)}</TableCell>
              <TableCell className="whitespace-nowrap tabular-nums">
                {a.step == null ? "—" : a.step + 1}
                {a.measurement != null ? <span className="text-muted-foreground"> · #{a.measurement}</span> : null}
              </TableCell>
              <TableCell>
                <span className="font-mono text-xs">{a.metric}</span>
                {a.provider ? <span className="block text-xs text-muted-foreground">{a.provider}</span> : null}
              </TableCell>
              <TableCell className="tabular-nums">{formatValue(a.value)}</TableCell>
              <TableCell className="font-mono text-xs whitespace-nowrap">{a.condition}</TableCell>
              <TableCell>
                <Badge variant={outcomeVariant(a.outcome)}>{a.outcome || "unknown"}</Badge>
              </TableCell>
              <TableCell className="tabular-nums">{a.requests ?? "—"}</TableCell>
              <TableCell className="min-w-48 text-xs">{a.detail || "—"}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </div>
  );
}

/** Who paused, resumed, promoted, rolled back or aborted the rollout, and why. */
export function HistoryTable({ rollout }: { rollout: Rollout }) {
  const rows = rollout.history;
  if (!rows.length) {
    return (
      <p className="text-sm text-muted-foreground">
        Nobody has acted on this rollout yet. Pauses, resumes, promotions, rollbacks and aborts are recorded here with who did it and
        why.
      </p>
    );
  }
  const caption = `Actions on the rollout of ${rollout.service}`;
  return (
    <div className="rounded-lg border">
      <Table label={caption}>
        <TableCaption className="sr-only">{caption}</TableCaption>
        <TableHeader>
          <TableRow className="hover:bg-transparent">
            <TableHead scope="col">Time</TableHead>
            <TableHead scope="col">Action</TableHead>
            <TableHead scope="col">By</TableHead>
            <TableHead scope="col">Reason</TableHead>
            <TableHead scope="col">Weight</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {rows.map((h, i) => (
            <TableRow key={`${h.at}-${i}`}>
              <TableCell className="whitespace-nowrap">{formatDateTime(h.at, true)}</TableCell>
              <TableCell className="font-medium">{actionWords(h.action)}</TableCell>
              <TableCell>
                {h.by}
                {h.via === "temporal" ? <span className="text-muted-foreground"> via Temporal</span> : null}
              </TableCell>
              <TableCell className="min-w-48">{h.reason || <span className="text-muted-foreground">no reason given</span>}</TableCell>
              <TableCell className="tabular-nums">
                {h.weight == null ? "—" : `${h.weight}%`}
                {h.step != null ? <span className="text-muted-foreground"> at step {h.step + 1}</span> : null}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </div>
  );
}
