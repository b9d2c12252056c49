import {
  BanIcon,
  CheckCircle2Icon,
  CircleDotIcon,
  LoaderCircleIcon,
  PauseCircleIcon,
  RotateCcwIcon,
  Undo2Icon,
  type LucideIcon,
} from "lucide-react";
import type { RolloutStatus } from "@/client/types.gen";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";
import { isRolloutStatus, ROLLOUT_STATUS_META, statusLabel, type RolloutTone } from "./model";

const ICONS: Record<RolloutStatus, LucideIcon> = {
  running: LoaderCircleIcon,
  paused: PauseCircleIcon,
  rolling_back: RotateCcwIcon,
  succeeded: CheckCircle2Icon,
  rolled_back: Undo2Icon,
  aborted: BanIcon,
};

const TONES: Record<RolloutTone, { variant: "success" | "danger" | "warning" | "outline"; className?: string }> = {
  live: { variant: "outline", className: "border-sky-300 bg-sky-50 text-sky-900 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100" },
  wait: { variant: "warning" },
  // in flight like `live`, but going the wrong way: a red outline, the filled red is for rolled_back
  "bad-live": { variant: "outline", className: "border-dashed border-red-400 text-red-900 dark:border-red-700 dark:text-red-100" },
  ok: { variant: "success" },
  bad: { variant: "danger" },
  off: { variant: "outline" },
};

/** The rollout's status in words ("rolling back"); `data-status` keeps the API's value. */
export function RolloutStatusBadge({ status, className, ...props }: { status: string; className?: string; "data-testid"?: string }) {
  const known = isRolloutStatus(status);
  const Icon = known ? ICONS[status] : CircleDotIcon;
  const tone = TONES[known ? ROLLOUT_STATUS_META[status].tone : "off"];
  return (
    <Badge variant={tone.variant} className={cn(tone.className, className)} data-status={status} {...props}>
      {/* No spinning icon: an endless animation never settles. */}
      <Icon aria-hidden="true" />
      {statusLabel(status)}
    </Badge>
  );
}
