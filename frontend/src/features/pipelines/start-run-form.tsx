import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { PlayIcon } from "lucide-react";
import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { environmentsListOptions, runsCreateMutation } from "@/client/@tanstack/react-query.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Textarea } from "@/components/ui/textarea";
import { asProblem } from "@/lib/api-error";
import { ENV_ORDER, sortEnvNames, useCurrentEnv, useEnvHref } from "@/lib/env";
import { toast } from "@/lib/toast";
import { invalidateRunLists } from "@/features/runs/queries";
import { initialValues, paramFields, parseLabelText, toInputs, type FormValue, type ParamField } from "./params";

function ParamInput({ field, value, error, onChange }: { field: ParamField; value: FormValue; error?: string; onChange: (v: FormValue) => void }) {
  const id = useId();
  const label = `${field.name}${field.required ? " (required)" : ""}`;
  const hint = [field.description, field.hasDefault && field.kind !== "checkbox" ? `Default: ${field.initial}` : null, `Type: ${field.type}`]
    .filter(Boolean)
    .join(" · ");
  if (field.kind === "checkbox") {
    return (
      <div className="grid gap-1">
        <div className="flex items-center gap-2">
          <input
            id={id}
            type="checkbox"
            className="size-4 accent-[var(--primary)]"
            checked={value === true}
            aria-describedby={`${id}-hint`}
            onChange={(e) => onChange(e.target.checked)}
          />
          <Label htmlFor={id} className="font-mono">
            {field.name}
          </Label>
        </div>
        <p id={`${id}-hint`} className="text-sm text-muted-foreground">
          {hint}
        </p>
      </div>
    );
  }
  return (
    <FormField label={label} hint={hint} error={error}>
      {(p) =>
        field.kind === "select" ? (
          <NativeSelect {...p} value={String(value)} onChange={(e) => onChange(e.target.value)} required={field.required}>
            {!field.required || !field.hasDefault ? <option value="">{field.required ? "Choose…" : "(pipeline default)"}</option> : null}
            {field.options!.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </NativeSelect>
        ) : (
          <Input
            {...p}
            type={field.kind === "number" ? "number" : "text"}
            step={field.kind === "number" ? "any" : undefined}
            inputMode={field.kind === "number" ? "decimal" : undefined}
            value={String(value)}
            required={field.required}
            autoComplete="off"
            onChange={(e) => onChange(e.target.value)}
          />
        )
      }
    </FormField>
  );
}

/**
 * Start a run: one field per spec param (typed, enum → select, defaults filled in, required
 * marked), the environment, the git ref and labels. POST /api/runs, then the run's page.
 */
export function StartRunForm({
  pipeline,
  name = pipeline,
  version,
  params,
  defaultRef,
  focusRequest = 0,
}: {
  /** Pipeline id (what is sent). */
  pipeline: string;
  /** Pipeline name (what is shown). */
  name?: string;
  version: number;
  params: unknown;
  defaultRef?: string;
  /** Bumped by "Start run…": focus moves to the form's first field (WCAG 2.4.3). */
  focusRequest?: number;
}) {
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (focusRequest > 0) formRef.current?.querySelector<HTMLElement>("input, select, textarea")?.focus();
  }, [focusRequest]);
  const fields = useMemo(() => paramFields(params), [params]);
  const [values, setValues] = useState<Record<string, FormValue>>(() => initialValues(fields));
  const currentEnv = useCurrentEnv();
  const [env, setEnv] = useState(currentEnv && ENV_ORDER.includes(currentEnv) ? currentEnv : "dev");
  const [ref, setRef] = useState("");
  const [labelText, setLabelText] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const envs = useQuery({ ...environmentsListOptions(), staleTime: 5 * 60_000 });
  const envNames = sortEnvNames([...ENV_ORDER, ...(envs.data?.items.map((e) => e.name) ?? [])]);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  const id = useId();
  const start = useMutation({
    ...runsCreateMutation(),
    onSuccess: (run) => {
      toast({ title: "Run started", description: `${run.pipelineName} #${run.number} in ${run.env}`, variant: "success" });
      navigate(href(`/runs/${run.id}`));
    },
    onError: (e) => {
      const out: Record<string, string> = {};
      for (const fe of asProblem(e).errors ?? []) out[fe.field.replace(/^(body\.)?inputs\./, "")] ??= fe.message;
      setErrors(out);
    },
    onSettled: () => invalidateRunLists(queryClient),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const { inputs, errors: inputErrors } = toInputs(fields, values);
    const { labels, bad } = parseLabelText(labelText);
    const all = { ...inputErrors };
    if (bad.length) all.__labels = `Write labels as key=value: ${bad.join(", ")}`;
    setErrors(all);
    if (Object.keys(all).length) return;
    start.mutate({ body: { pipeline, version, inputs, env, labels, ...(ref.trim() ? { ref: ref.trim() } : {}) } });
  }

  const fieldNames = new Set(fields.map((f) => f.name));
  const otherErrors = start.error && !Object.keys(errors).some((k) => fieldNames.has(k));
  return (
    <form ref={formRef} className="grid max-w-2xl gap-5" onSubmit={submit} noValidate aria-label={`Start a run of ${name}`}>
      {fields.length ? (
        <fieldset className="grid gap-4">
          <legend className="mb-2 text-base font-semibold">Parameters</legend>
          {fields.map((f) => (
            <ParamInput
              key={f.name}
              field={f}
              value={values[f.name] ?? f.initial}
              error={errors[f.name]}
              onChange={(v) => setValues((prev) => ({ ...prev, [f.name]: v }))}
            />
          ))}
        </fieldset>
      ) : (
        <p className="text-sm text-muted-foreground">This pipeline declares no parameters.</p>
      )}
      <fieldset className="grid gap-4">
        <legend className="mb-2 text-base font-semibold">Where and what</legend>
        <div className="grid gap-2">
          <Label htmlFor={`${id}-env`}>Environment</Label>
          <NativeSelect id={`${id}-env`} value={env} onChange={(e) => setEnv(e.target.value)}>
            {envNames.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </NativeSelect>
        </div>
        <FormField label="Git ref (branch, tag or commit)" hint={defaultRef ? `Empty: the spec's ref (${defaultRef}).` : "Empty: the spec's default."}>
          {(p) => <Input {...p} value={ref} onChange={(e) => setRef(e.target.value)} autoComplete="off" placeholder={defaultRef} />}
        </FormField>
        <FormField label="Labels" hint="key=value, one per line or comma-separated." error={errors.__labels}>
          {(p) => <Textarea {...p} value={labelText} onChange={(e) => setLabelText(e.target.value)} rows={2} placeholder="team=web" />}
        </FormField>
      </fieldset>
      {otherErrors ? <ErrorState error={start.error} title="Could not start the run" compact /> : null}
      <div>
        <Button type="submit" disabled={start.isPending}>
          <PlayIcon aria-hidden="true" />
          {start.isPending ? "Starting…" : "Start run"}
        </Button>
      </div>
    </form>
  );
}
