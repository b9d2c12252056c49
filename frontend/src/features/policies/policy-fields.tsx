import { AlertTriangleIcon } from "lucide-react";
import { useId, useRef } from "react";
import { Checkbox } from "@/components/ui/checkbox";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import { cn } from "@/lib/utils";
import { lineRange, POINT_INFO, POLICY_POINTS, type CompileError, type PolicyPoint } from "./policy-model";

/**
 * The Rego source as a monospace textarea. Compile errors of a refused save sit right under it,
 * each with its line and column and a button that selects that line in the editor.
 */
export function SourceEditor({
  value,
  onChange,
  errors,
  label = "Source (Rego, rego.v1)",
  hint = "`import rego.v1` is required; `deny contains msg if { … }` rules say why something is refused.",
}: {
  value: string;
  onChange: (text: string) => void;
  errors: CompileError[];
  label?: string;
  hint?: string;
}) {
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const invalid = errors.length > 0;

  function goToLine(line: number) {
    const el = ref.current;
    if (!el) return;
    const [start, end] = lineRange(value, line);
    el.focus();
    el.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || 20;
    el.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  return (
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
        rows={14}
        className="min-h-72 font-mono text-sm leading-5 [tab-size:4]"
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? `${id}-errors` : `${id}-hint`}
      />
      {invalid ? (
        <div
          id={`${id}-errors`}
          role="alert"
          className="grid gap-2 rounded-lg border border-red-300 p-3 dark:border-red-800"
          data-testid="compile-errors"
        >
          <p className="flex items-center gap-1.5 text-sm font-semibold text-danger">
            <AlertTriangleIcon className="size-4" aria-hidden="true" />
            The policy does not compile ({errors.length === 1 ? "1 error" : `${errors.length} errors`})
          </p>
          <ul className="grid gap-1.5 text-sm">
            {errors.map((e, i) => (
              <li key={`${e.line}:${e.column}:${i}`} className="flex flex-wrap items-baseline gap-x-2">
                {e.line !== null ? (
                  <span className="font-mono text-xs font-medium">
                    line {e.line}, column {e.column}
                  </span>
                ) : null}
                <span className="break-words">{e.message}</span>
                {e.line !== null ? (
                  <button
                    type="button"
                    className="text-xs underline underline-offset-2 hover:no-underline"
                    onClick={() => goToLine(e.line!)}
                  >
                    Go to line {e.line}
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p id={`${id}-hint`} className="text-sm text-muted-foreground">
          {hint}
        </p>
      )}
    </div>
  );
}

/** Checkboxes for where the policy is evaluated (at least one). */
export function PointsField({
  value,
  onChange,
  error,
  legend = "Evaluated at",
}: {
  value: PolicyPoint[];
  onChange: (points: PolicyPoint[]) => void;
  error?: string;
  legend?: string;
}) {
  const id = useId();
  return (
    <fieldset className="grid gap-2" aria-describedby={error ? `${id}-error` : undefined}>
      <legend className="mb-1 text-sm font-medium">{legend}</legend>
      <div className="grid gap-3 rounded-md border p-3">
        {POLICY_POINTS.map((p) => {
          const cid = `${id}-${p}`;
          return (
            <div key={p} className="flex items-start gap-2">
              <Checkbox
                id={cid}
                className="mt-0.5"
                checked={value.includes(p)}
                aria-describedby={`${cid}-desc`}
                onCheckedChange={(c) => onChange(c === true ? POLICY_POINTS.filter((x) => x === p || value.includes(x)) : value.filter((x) => x !== p))}
              />
              <div className="grid gap-0.5">
                <label htmlFor={cid} className="text-sm font-medium">
                  {POINT_INFO[p].label} <span className="font-mono text-xs font-normal text-muted-foreground">({p})</span>
                </label>
                <span id={`${cid}-desc`} className="text-xs text-muted-foreground">
                  {POINT_INFO[p].description}
                </span>
              </div>
            </div>
          );
        })}
      </div>
      {error ? (
        <p id={`${id}-error`} className={cn("text-sm text-danger")}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
