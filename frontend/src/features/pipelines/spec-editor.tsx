import { useQuery } from "@tanstack/react-query";
import { AlertTriangleIcon, CheckCircle2Icon, LoaderCircleIcon } from "lucide-react";
import { useId, useRef } from "react";
import { ErrorState } from "@/components/error-state";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import { useDebounced } from "@/lib/use-debounced";
import { lineOfMessage, lineOfStep, parseSpecField, planSteps, validateSpecOptions } from "./queries";

export interface SpecProblem {
  field: string;
  message: string;
}

/** The problems to show: the live validation's, or those of a refused save (422). */
function describe(field: string, text: string, message: string) {
  const f = parseSpecField(field);
  const where = f.step ? `Step “${f.step}”` : f.index !== null ? `Step #${f.index + 1}` : null;
  const line = f.step || f.index !== null ? lineOfStep(text, f.step, f.index) : field === "spec" ? lineOfMessage(message) : null;
  return { where, path: f.path || (where ? "" : field), line };
}

/**
 * A pipeline spec as YAML (or JSON) text, validated by the API while typing (debounced): each
 * problem names its field and step, with a button that puts the cursor on the step's line.
 */
export function SpecEditor({
  value,
  onChange,
  serverProblems,
  label = "Pipeline spec (YAML or JSON)",
}: {
  value: string;
  onChange: (text: string) => void;
  /** Problems from a refused save, shown until the text changes. */
  serverProblems?: SpecProblem[] | null;
  label?: string;
}) {
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const debounced = useDebounced(value, 400);
  const validation = useQuery(validateSpecOptions(debounced));
  const checking = debounced !== value || validation.isFetching;
  const problems: SpecProblem[] =
    serverProblems?.length ? serverProblems : (validation.data?.errors ?? []).map((e) => ({ field: e.field ?? "spec", message: e.message ?? "" }));
  const plan = planSteps(validation.data?.plan);
  const invalid = problems.length > 0 && !checking;

  function goToLine(line: number) {
    const el = ref.current;
    if (!el) return;
    const lines = value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || 20;
    el.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  return (
    <div className="grid gap-3">
      <div className="grid gap-2">
        <Label htmlFor={id}>{label}</Label>
        <Textarea
          id={id}
          ref={ref}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          spellCheck={false}
          autoCapitalize="none"
          autoCorrect="off"
          wrap="off"
          className="min-h-96 font-mono text-sm leading-5"
          aria-invalid={invalid || undefined}
          aria-describedby={`${id}-status`}
          onKeyDown={(e) => {
            // Tab inserts two spaces (YAML indents); Escape then Tab leaves the field.
            if (e.key === "Tab" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && e.currentTarget.dataset.escaped !== "1") {
              e.preventDefault();
              const el = e.currentTarget;
              const { selectionStart: s, selectionEnd: t } = el;
              onChange(`${value.slice(0, s)}  ${value.slice(t)}`);
              requestAnimationFrame(() => el.setSelectionRange(s + 2, s + 2));
            } else if (e.key === "Escape") {
              e.currentTarget.dataset.escaped = "1";
            } else {
              e.currentTarget.dataset.escaped = "";
            }
          }}
        />
        <p className="text-xs text-muted-foreground">Tab indents; press Escape, then Tab, to move on.</p>
      </div>
      <div id={`${id}-status`} role="status" aria-live="polite" className="grid gap-2">
        {!value.trim() ? (
          <p className="text-sm text-muted-foreground">Write a spec: a name and at least one step.</p>
        ) : checking ? (
          <p className="flex items-center gap-1.5 text-sm text-muted-foreground">
            <LoaderCircleIcon className="size-4 motion-safe:animate-spin" aria-hidden="true" /> Checking the spec…
          </p>
        ) : validation.error ? (
          <ErrorState error={validation.error} title="Could not validate the spec" compact />
        ) : problems.length ? (
          <div className="grid gap-2 rounded-lg border border-red-300 p-3 dark:border-red-800" data-testid="spec-problems">
            <p className="flex items-center gap-1.5 text-sm font-semibold text-danger">
              <AlertTriangleIcon className="size-4" aria-hidden="true" />
              {problems.length === 1 ? "1 problem" : `${problems.length} problems`} in the spec
            </p>
            <ul className="grid gap-1.5 text-sm">
              {problems.map((p, i) => {
                const d = describe(p.field, value, p.message);
                return (
                  <li key={`${p.field}:${i}`} className="flex flex-wrap items-baseline gap-x-2">
                    {d.where ? <span className="font-medium">{d.where}</span> : null}
                    {d.path ? <span className="font-mono text-xs">{d.path}</span> : null}
                    <span>{p.message}</span>
                    {d.line ? (
                      <button
                        type="button"
                        className="text-xs underline underline-offset-2 hover:no-underline"
                        onClick={() => goToLine(d.line!)}
                      >
                        Go to line {d.line}
                      </button>
                    ) : null}
                  </li>
                );
              })}
            </ul>
          </div>
        ) : validation.data?.valid ? (
          <div className="grid gap-2">
            <p className="flex flex-wrap items-center gap-1.5 text-sm text-success">
              <CheckCircle2Icon className="size-4" aria-hidden="true" />
              Valid: {plan.length} step{plan.length === 1 ? "" : "s"} after matrix expansion
              {validation.data.contentHash ? <span className="font-mono text-xs text-muted-foreground">{validation.data.contentHash.slice(0, 19)}…</span> : null}
            </p>
            {validation.data.warnings?.length ? (
              <ul className="grid gap-1.5 rounded-lg border border-amber-300 p-3 text-sm dark:border-amber-800" data-testid="spec-warnings">
                {validation.data.warnings.map((w, i) => {
                  const d = describe(w.field ?? "spec", value, w.message ?? "");
                  return (
                    <li key={`${w.field}:${i}`} className="flex flex-wrap items-baseline gap-x-2">
                      <AlertTriangleIcon className="size-4 self-center text-amber-700 dark:text-amber-300" aria-hidden="true" />
                      {d.where ? <span className="font-medium">{d.where}</span> : null}
                      <span>{w.message}</span>
                    </li>
                  );
                })}
              </ul>
            ) : null}
          </div>
        ) : null}
      </div>
    </div>
  );
}
