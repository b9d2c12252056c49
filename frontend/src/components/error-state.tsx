import { AlertTriangleIcon, RotateCwIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { asProblem } from "@/lib/api-error";
import { cn } from "@/lib/utils";

export interface ErrorStateProps {
  error: unknown;
  /** Overrides the problem's title, e.g. "Could not load tokens". */
  title?: string;
  onRetry?: () => void;
  className?: string;
  compact?: boolean;
}

/** Shows a failed call the way the API explained it: detail, what to do next, and the trace id. */
export function ErrorState({ error, title, onRetry, className, compact = false }: ErrorStateProps) {
  const p = asProblem(error);
  return (
    <div
      role="alert"
      className={cn(
        "flex gap-3 rounded-lg border border-red-300 bg-red-50 text-red-950 dark:border-red-800 dark:bg-red-950/60 dark:text-red-50",
        compact ? "p-3" : "p-5",
        className,
      )}
    >
      <AlertTriangleIcon className="mt-0.5 size-5 shrink-0" aria-hidden="true" />
      <div className="grid min-w-0 gap-1.5 text-sm">
        <p className="font-semibold">
          {title ?? p.title}
          {p.status ? <span className="font-normal"> (HTTP {p.status})</span> : null}
        </p>
        {title && p.title && p.title !== title ? <p>{p.title}</p> : null}
        {p.detail ? <p data-testid="problem-detail">{p.detail}</p> : null}
        {p.errors?.length ? (
          <ul className="list-disc pl-5">
            {p.errors.map((e) => (
              <li key={`${e.field}:${e.message}`}>
                <span className="font-mono">{e.field}</span>: {e.message}
              </li>
            ))}
          </ul>
        ) : null}
        {p.remediation ? (
          <p data-testid="problem-remediation">
            <span className="font-semibold">What to do: </span>
            {p.remediation}
          </p>
        ) : null}
        {p.traceId ? (
          <p className="text-xs">
            Trace id: <span className="font-mono break-all">{p.traceId}</span>
          </p>
        ) : null}
        {onRetry ? (
          <div className="pt-1">
            <Button variant="outline" size="sm" onClick={onRetry}>
              <RotateCwIcon aria-hidden="true" />
              Try again
            </Button>
          </div>
        ) : null}
      </div>
    </div>
  );
}
