import { CircleXIcon, ScrollTextIcon } from "lucide-react";
import { EnvLink } from "@/components/env-link";
import { Button } from "@/components/ui/button";
import { stripAnsi } from "@/lib/ansi";
import { lineAnchor } from "./log-model";
import type { RunDetail } from "./queries";

const BOX =
  "grid gap-2 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-950 dark:border-red-800 dark:bg-red-950/60 dark:text-red-50";

/**
 * What a failed run's header says first: the step that failed, its exit code and the last lines it
 * wrote to stderr (each linked to its place in the log). A run that failed before any step did (or
 * any other run with an error) shows its error.
 */
export function RunFailureSummary({ run }: { run: Pick<RunDetail, "id" | "error" | "failure" | "steps"> }) {
  const f = run.failure;
  if (!f) {
    return run.error ? (
      <p className={BOX}>
        <span>
          <span className="font-semibold">Error: </span>
          {run.error}
        </span>
      </p>
    ) : null;
  }
  const logsOf = (step: string) => `/runs/${encodeURIComponent(run.id)}?tab=logs&step=${encodeURIComponent(step)}`;
  const lineHref = (n: number) => `${logsOf(f.step)}#${lineAnchor({ step: f.step, n, attempt: f.attempt })}`;
  const named = f.stepName && f.stepName !== f.step ? `${f.stepName} (${f.step})` : f.step;
  const detail = f.message && f.message !== `exit code ${f.exitCode}` ? f.message : "";
  return (
    <section aria-labelledby={`failure-${run.id}`} className={BOX} data-testid="run-failure">
      <h2 id={`failure-${run.id}`} className="flex items-start gap-2 text-sm font-semibold">
        <CircleXIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
        <span>
          Failed at step <span className="font-mono">{named}</span>
          {" · "}
          {f.exitCode === null || f.exitCode === undefined ? "no exit code" : `exit code ${f.exitCode}`}
          {f.attempt > 1 ? <span className="font-normal"> (attempt {f.attempt})</span> : null}
        </span>
      </h2>
      {detail ? <p>{detail}</p> : null}
      {f.alsoFailed?.length ? (
        <p>
          Also failed:{" "}
          {f.alsoFailed.map((key, i) => (
            <span key={key}>
              {i ? ", " : ""}
              <EnvLink to={logsOf(key)} className="font-mono underline underline-offset-4 hover:no-underline">
                {key}
              </EnvLink>
            </span>
          ))}
        </p>
      ) : null}
      {f.stderrTail.length ? (
        <figure className="grid gap-1">
          <figcaption className="text-xs font-medium">
            Last {f.stderrTail.length === 1 ? "stderr line" : `${f.stderrTail.length} stderr lines`} of {f.step}
          </figcaption>
          <ol className="log-surface overflow-x-auto rounded-md border py-1 font-mono text-xs" aria-label={`Last stderr lines of ${f.step}`}>
            {f.stderrTail.map((l) => (
              <li key={l.n} className="log-stream-stderr flex min-w-max items-center pr-3 leading-5 whitespace-pre">
                <EnvLink
                  to={lineHref(l.n)}
                  className="w-14 shrink-0 pr-3 text-right no-underline hover:underline"
                  aria-label={`Line ${l.n} of ${f.step} in the log`}
                >
                  {l.n}
                </EnvLink>
                <span className="log-stream-marker-stderr w-8 shrink-0 pr-2 select-none" title="Written to stderr">
                  err
                </span>
                <span>{stripAnsi(l.line)}</span>
              </li>
            ))}
          </ol>
        </figure>
      ) : (
        <p className="text-xs">No stderr lines near the end of its log.</p>
      )}
      <div>
        <Button asChild variant="outline" size="sm" className="bg-background text-foreground">
          <EnvLink to={logsOf(f.step)}>
            <ScrollTextIcon aria-hidden="true" /> Open the log of {f.step}
          </EnvLink>
        </Button>
      </div>
    </section>
  );
}
