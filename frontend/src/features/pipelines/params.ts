/**
 * The "Start run" form is generated from the spec's `params` (maestro/pipelines/spec.py Param):
 * `type` string/number/boolean, `enum` (→ a select), `default`, `required`, `description`.
 * These helpers turn a spec's params into form fields and the form's values back into the
 * `inputs` of POST /api/runs, checking types and required values the way the API does.
 */
export type ParamType = "string" | "number" | "boolean";
export type FieldKind = "text" | "number" | "checkbox" | "select";
export type FormValue = string | boolean;
export type InputValue = string | number | boolean;

export interface ParamField {
  name: string;
  type: ParamType;
  kind: FieldKind;
  description: string;
  required: boolean;
  /** Enum values as strings (the select's option values). */
  options: string[] | null;
  /** Whether the enum values are numbers (sent back as numbers). */
  numericOptions: boolean;
  initial: FormValue;
  hasDefault: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function paramFields(params: unknown): ParamField[] {
  if (!isRecord(params)) return [];
  return Object.entries(params).map(([name, raw]) => {
    const p = isRecord(raw) ? raw : {};
    const type: ParamType = p.type === "number" || p.type === "boolean" ? p.type : "string";
    const enumValues = Array.isArray(p.enum) ? p.enum.filter((x) => typeof x === "string" || typeof x === "number") : null;
    const def = p.default;
    const hasDefault = def !== undefined && def !== null;
    const kind: FieldKind = type === "boolean" ? "checkbox" : enumValues?.length ? "select" : type === "number" ? "number" : "text";
    let initial: FormValue;
    if (kind === "checkbox") initial = def === true || def === "true";
    else if (hasDefault) initial = String(def);
    else initial = kind === "select" && p.required === true ? "" : "";
    return {
      name,
      type,
      kind,
      description: typeof p.description === "string" ? p.description : "",
      required: p.required === true,
      options: kind === "select" && enumValues ? enumValues.map(String) : null,
      numericOptions: Boolean(enumValues?.length && enumValues.every((x) => typeof x === "number")),
      initial,
      hasDefault,
    };
  });
}

export function initialValues(fields: readonly ParamField[]): Record<string, FormValue> {
  return Object.fromEntries(fields.map((f) => [f.name, f.initial]));
}

/**
 * The form values as run inputs. Empty optional fields are left out (the pipeline's default
 * applies); required ones and wrongly typed numbers come back as errors keyed by param name.
 */
export function toInputs(
  fields: readonly ParamField[],
  values: Record<string, FormValue>,
): { inputs: Record<string, InputValue>; errors: Record<string, string> } {
  const inputs: Record<string, InputValue> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const v = values[f.name] ?? f.initial;
    if (f.kind === "checkbox") {
      inputs[f.name] = v === true;
      continue;
    }
    const text = String(v).trim();
    if (!text) {
      if (f.required && !f.hasDefault) errors[f.name] = "Required.";
      continue;
    }
    if (f.kind === "select") {
      if (f.options && !f.options.includes(text)) {
        errors[f.name] = `Choose one of ${f.options.join(", ")}.`;
        continue;
      }
      inputs[f.name] = f.numericOptions || f.type === "number" ? Number(text) : text;
    } else if (f.type === "number") {
      const n = Number(text);
      if (!Number.isFinite(n)) errors[f.name] = "Enter a number.";
      else inputs[f.name] = n;
    } else {
      inputs[f.name] = text;
    }
  }
  return { inputs, errors };
}

/** "key=value" lines (or comma-separated) → labels; malformed entries are reported. */
export function parseLabelText(text: string): { labels: Record<string, string>; bad: string[] } {
  const labels: Record<string, string> = {};
  const bad: string[] = [];
  for (const part of text.split(/[\n,]/)) {
    const t = part.trim();
    if (!t) continue;
    const at = t.indexOf("=");
    if (at <= 0) bad.push(t);
    else labels[t.slice(0, at).trim()] = t.slice(at + 1).trim();
  }
  return { labels, bad };
}
