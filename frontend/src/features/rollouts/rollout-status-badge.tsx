import {
  BanIcon,
  CheckCircle2Icon,
  CircleDotIcon,
  LoaderCircleIcon,
  PauseCircleIcon,
  Undo2Icon,
  type LucideIcon,
} from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";

const ICONS: Record<string, LucideIcon> = {
  running: LoaderCircleIcon,
  paused: PauseCircleIcon,
  succeeded: CheckCircle2Icon,
  rolled_back: Undo2Icon,
  aborted: BanIcon,
};

const LIVE = "border-sky-300 bg-sky-50 text-sky-900 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100";

/** The rollout's status, word for word (the text is exactly the API's status). */
export function RolloutStatusBadge({ status, className, ...props }: { status: string; className?: string; "data-testid"?: string }) {
  const Icon = ICONS[status] ?? CircleDotIcon;
  const variant =
    status === "succeeded" ? "success" : status === "rolled_back" ? "danger" : status === "paused" ? "warning" : "outline";
  return (
    <Badge variant={variant} className={cn(status === "running" && LIVE, className)} data-status={status} {...props}>
      {/* No spinning icon: an endless animation never settles. */}
      <Icon aria-hidden="true" />
      {status}
    </Badge>
  );
}
