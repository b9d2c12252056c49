import { InfoIcon } from "lucide-react";
import { useId, type ReactNode } from "react";
import type { ProviderPublic } from "@/client/types.gen";
import { FormField } from "@/components/form-field";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { NativeSelect } from "@/components/ui/native-select";
import type { FieldErrors } from "@/lib/form";
import { InlineCode } from "./inline-code";
import { settingErrorKey, type SettingField, type SettingsForm, type SettingValues } from "./provider-form";

/** Says that a provider without traffic counters needs Prometheus analyses. */
export function NoTrafficCountersNote({ provider }: { provider: ProviderPublic }) {
  return (
    <p role="note" className="flex gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950/60 dark:text-amber-50">
      <InfoIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
      <span>
        {provider.title} does not count requests per version, so the built-in error_rate and latency analyses cannot judge its canaries:
        rollouts of this service need Prometheus analyses (<code className="font-mono">{'{"metric": "promql", "query": …}'}</code>).
      </span>
    </p>
  );
}

function BooleanSetting({ field, value, onChange, error }: { field: SettingField; value: boolean; onChange: (v: boolean) => void; error?: string }) {
  const id = useId();
  const note = error ?? (field.description ? <InlineCode text={field.description} /> : undefined);
  return (
    <div className="grid gap-1">
      <div className="flex items-center gap-2">
        <Checkbox
          id={id}
          checked={value}
          onCheckedChange={(c) => onChange(c === true)}
          aria-invalid={error ? true : undefined}
          aria-describedby={note ? `${id}-note` : undefined}
        />
        <label htmlFor={id} className="text-sm font-medium">
          {field.label}
        </label>
      </div>
      {note ? (
        <p id={`${id}-note`} className={error ? "text-sm text-danger" : "text-sm text-muted-foreground"}>
          {note}
        </p>
      ) : null}
    </div>
  );
}

/** The setting's description (code spans as code) and its bounds. */
function hintOf(f: SettingField): ReactNode {
  const low = f.minimum !== undefined ? `at least ${f.minimum}` : f.above !== undefined ? `more than ${f.above}` : "";
  const bounds =
    f.minimum !== undefined && f.maximum !== undefined
      ? `${f.minimum}–${f.maximum}`
      : [low, f.maximum !== undefined ? `at most ${f.maximum}` : ""].filter(Boolean).join(", ");
  const kind = f.type === "integer" ? "a whole number" : "a number";
  const parts = [f.description?.replace(/\.$/, ""), bounds && `${kind}, ${bounds}`].filter(Boolean);
  return parts.length ? <InlineCode text={`${parts.join("; ")}.`} /> : undefined;
}

/**
 * The chosen provider's settings, one control per property of its `configSchema`: text, whole
 * numbers, choices and on/off. Required ones say so; defaults are filled in.
 */
export function ProviderSettings({
  provider,
  form,
  values,
  onChange,
  errors,
}: {
  provider: ProviderPublic;
  form: SettingsForm;
  values: SettingValues;
  onChange: (key: string, value: string | boolean) => void;
  errors: FieldErrors;
}) {
  const whole = errors.providerConfig;
  // a setting the API names that this form has no control for (e.g. an unknown key)
  const stray = Object.entries(errors).filter(
    ([k]) => k.startsWith("providerConfig.") && !form.fields.some((f) => settingErrorKey(f.key) === k),
  );
  const legendId = useId();
  const errorId = `${legendId}-error`;
  return (
    <fieldset
      className="grid gap-3 rounded-md border p-3"
      aria-labelledby={legendId}
      aria-describedby={whole || stray.length ? errorId : undefined}
      data-testid="provider-settings"
    >
      <legend id={legendId} className="px-1 text-sm font-medium">
        {provider.title} settings
      </legend>
      {form.fields.length === 0 && form.unsupported.length === 0 ? (
        <p className="text-sm text-muted-foreground">{provider.title} needs no settings.</p>
      ) : null}
      {form.fields.map((f) => {
        const error = errors[settingErrorKey(f.key)];
        const label = `${f.label}${f.required ? " (required)" : ""}`;
        if (f.type === "boolean") {
          return <BooleanSetting key={f.key} field={f} value={values[f.key] === true} onChange={(v) => onChange(f.key, v)} error={error} />;
        }
        const text = typeof values[f.key] === "string" ? (values[f.key] as string) : "";
        return (
          <FormField key={f.key} label={label} error={error} hint={hintOf(f)}>
            {(p) =>
              f.options ? (
                <NativeSelect {...p} value={text} onChange={(e) => onChange(f.key, e.target.value)} required={f.required}>
                  {f.required ? null : <option value="">(the provider&apos;s default)</option>}
                  {f.options.map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </NativeSelect>
              ) : (
                <Input
                  {...p}
                  value={text}
                  onChange={(e) => onChange(f.key, e.target.value)}
                  required={f.required}
                  inputMode={f.type === "integer" ? "numeric" : f.type === "number" ? "decimal" : undefined}
                  // "e.g.": an example must not look like a value already filled in
                  placeholder={f.example !== undefined ? `e.g. ${f.example}` : undefined}
                  autoComplete="off"
                  data-setting={f.key}
                />
              )
            }
          </FormField>
        );
      })}
      {form.unsupported.length ? (
        <p className="text-sm text-muted-foreground">
          Not editable here: {form.unsupported.join(", ")} (set them with <code className="font-mono">maestro service create --config-file</code>).
        </p>
      ) : null}
      {whole || stray.length ? (
        <ul id={errorId} className="grid gap-1 text-sm text-danger" data-testid="provider-settings-error">
          {whole ? <li>{whole}</li> : null}
          {stray.map(([k, m]) => (
            <li key={k}>
              <span className="font-mono">{k.slice("providerConfig.".length)}</span>: {m}
            </li>
          ))}
        </ul>
      ) : null}
    </fieldset>
  );
}
