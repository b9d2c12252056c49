import { BanIcon, CheckCircle2Icon, CircleDashedIcon, CircleDotIcon, SkipForwardIcon, type LucideIcon } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";
import { describeStep, parseStep, stepStates, type Rollout, type StepState } from "./model";

const STATE: Record<StepState, { icon: LucideIcon; variant: "success" | "outline" | "danger" | "secondary"; className?: string }> = {
  done: { icon: CheckCircle2Icon, variant: "success" },
  current: {
    icon: CircleDotIcon,
    variant: "outline",
    className: "border-sky-300 bg-sky-50 text-sky-900 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100",
  },
  pending: { icon: CircleDashedIcon, variant: "outline" },
  stopped: { icon: BanIcon, variant: "danger" },
  skipped: { icon: SkipForwardIcon, variant: "secondary" },
};

/** The rollout's steps in order: done, the current one (highlighted), pending — or stopped/skipped once finished. */
export function RolloutSteps({ rollout }: { rollout: Rollout }) {
  const views = rollout.steps.map(parseStep);
  const states = stepStates(views.length, rollout.stepIndex, rollout.status);
  if (!views.length) return <p className="text-sm text-muted-foreground">This rollout has no steps.</p>;
  return (
    <ol className="grid gap-2" aria-label={`Steps of the rollout of ${rollout.service}`}>
      {views.map((v, i) => {
        const state = states[i];
        const { icon: Icon, variant, className } = STATE[state];
        return (
          <li
            key={i}
            data-testid="rollout-step"
            data-state={state}
            aria-current={state === "current" ? "step" : undefined}
            className={cn(
              "flex flex-wrap items-center gap-x-3 gap-y-1 rounded-md border px-3 py-2 text-sm",
              state === "current" && "border-sky-600 bg-sky-50/60 shadow-[inset_3px_0_0_var(--ring)] dark:border-sky-400 dark:bg-sky-950/40",
              (state === "pending" || state === "skipped") && "text-muted-foreground",
            )}
          >
            <Icon className="size-4 shrink-0" aria-hidden="true" />
            <span className="font-medium text-foreground tabular-nums">Step {i + 1}</span>
            <span className="min-w-0 flex-1">{describeStep(v)}</span>
            <Badge variant={variant} className={className}>
              {state === "current" && rollout.status === "paused" ? "current (paused)" : state}
            </Badge>
          </li>
        );
      })}
    </ol>
  );
}
