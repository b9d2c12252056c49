import {
  BanIcon,
  CheckCircle2Icon,
  CircleDashedIcon,
  CircleDotIcon,
  ClockIcon,
  HandIcon,
  LoaderCircleIcon,
  PauseCircleIcon,
  ShieldOffIcon,
  SkipForwardIcon,
  XCircleIcon,
  type LucideIcon,
} from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";
import { statusTone, TONE_FILL, type Tone } from "./format";

const ICONS: Record<string, LucideIcon> = {
  queued: ClockIcon,
  pending: CircleDashedIcon,
  running: LoaderCircleIcon,
  waiting: HandIcon,
  paused: PauseCircleIcon,
  succeeded: CheckCircle2Icon,
  failed: XCircleIcon,
  error: XCircleIcon,
  cancelled: BanIcon,
  skipped: SkipForwardIcon,
};

const TONE_BADGE: Record<Tone, { variant: "success" | "danger" | "warning" | "secondary" | "outline"; className?: string }> = {
  ok: { variant: "success" },
  bad: { variant: "danger" },
  live: {
    variant: "outline",
    className: "border-sky-300 bg-sky-50 text-sky-900 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100",
  },
  wait: { variant: "warning" },
  off: { variant: "outline" },
  idle: { variant: "secondary" },
};

export function StatusBadge({ status, className, paused }: { status: string; className?: string; paused?: boolean }) {
  const tone = TONE_BADGE[statusTone(status)];
  const Icon = ICONS[status] ?? CircleDotIcon;
  return (
    <Badge variant={tone.variant} className={cn(tone.className, className)} data-status={status}>
      {/* No spinning icon: an endless animation never settles (tests wait for animations to finish). */}
      <Icon aria-hidden="true" />
      {status}
      {paused && status !== "paused" ? " (paused)" : null}
    </Badge>
  );
}

/** The last runs' statuses as a row of coloured cells, newest first, with a text equivalent. */
export function HeatStrip({ statuses, label }: { statuses: readonly string[]; label: string }) {
  if (!statuses.length) return <span className="text-sm text-muted-foreground">No runs yet</span>;
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
  return (
    <span className="inline-flex items-center gap-0.5" role="img" aria-label={`${label}: ${summary} (newest first: ${statuses.join(", ")})`}>
      {statuses.map((s, i) => (
        <span key={i} title={s} className={cn("inline-block h-4 w-2 rounded-sm", TONE_FILL[statusTone(s)])} />
      ))}
    </span>
  );
}


/** Warns that build code ran without the step sandbox (a runner an admin set to isolation: none). */
export function IsolationBadge({ isolation }: { isolation?: string | null }) {
  if (isolation !== "none") return null;
  return (
    <Badge
      variant="warning"
      className="gap-1"
      title="At least one step ran on a runner an administrator set to MAESTRO_RUNNER_ISOLATION=none: its build code could see that host. The run's provenance records it."
      data-testid="isolation-badge"
    >
      <ShieldOffIcon className="size-3.5" aria-hidden="true" />
      Unisolated
    </Badge>
  );
}
