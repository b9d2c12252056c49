import type { FieldErrors } from "@/lib/form";

/**
 * A traffic provider's settings form, read from its `configSchema` (GET /api/services/providers:
 * the JSON Schema pydantic writes for the provider's settings model). Pure: no React.
 */

export type SettingType = "string" | "integer" | "number" | "boolean";

export interface SettingField {
  /** The property name, as sent in `providerConfig`. */
  key: string;
  label: string;
  description?: string;
  type: SettingType;
  required: boolean;
  default?: string | number | boolean;
  /** Allowed values (a JSON Schema `enum` of strings): a select. */
  options?: string[];
  minimum?: number;
  maximum?: number;
  /** A number must be more than this (JSON Schema `exclusiveMinimum`, e.g. a timeout > 0). */
  above?: number;
  /** An example value (JSON Schema `examples`), shown as the placeholder. */
  example?: string;
}

export interface SettingsForm {
  fields: SettingField[];
  /** Properties this form cannot edit (objects, arrays): named so people know to use the API or CLI. */
  unsupported: string[];
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const TYPES: readonly string[] = ["string", "integer", "number", "boolean"];
const ACRONYMS = new Set(["api", "url", "uri", "tls", "id", "http", "https", "dns", "tcp", "udp", "ip", "sni", "acl"]);

/** "runtimeApi", "backend_name", "gateway-name" → "Runtime API", "Backend name", "Gateway name". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => (ACRONYMS.has(w.toLowerCase()) ? w.toUpperCase() : w.toLowerCase()));
  if (!words.length) return key;
  const [first, ...rest] = words;
  return [first.charAt(0).toUpperCase() + first.slice(1), ...rest].join(" ");
}

/** "Runtime API" → "runtime API" (mid-sentence); "HTTPRoute name" stays. */
const inSentence = (label: string) => (/^[A-Z][^A-Z]/.test(label) ? label.charAt(0).toLowerCase() + label.slice(1) : label);

const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/** A title pydantic made up from the name ("Runtimeapi") is replaced by readable words; a written one is kept. */
function labelOf(key: string, title: unknown): string {
  return typeof title === "string" && title.trim() && squash(title) !== squash(key) ? title.trim() : humanize(key);
}

function resolve(schema: Json, node: Json): Json {
  const ref = node.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return node;
  let at: unknown = schema;
  for (const part of ref.slice(2).split("/")) at = isRecord(at) ? at[part] : undefined;
  return isRecord(at) ? { ...at, ...node, $ref: undefined } : node;
}

/** The property's own schema: `X | None` (anyOf with null) is X. */
function settle(schema: Json, prop: Json): Json {
  const node = resolve(schema, prop);
  const any = node.anyOf ?? node.oneOf;
  if (Array.isArray(any)) {
    const kinds = any.filter(isRecord).map((n) => resolve(schema, n)).filter((n) => n.type !== "null");
    if (kinds.length === 1) return { ...node, ...kinds[0], anyOf: undefined, oneOf: undefined };
  }
  return node;
}

/** The fields of a provider's settings form, in the schema's order. */
export function settingsForm(configSchema: Json): SettingsForm {
  const props = isRecord(configSchema.properties) ? configSchema.properties : {};
  const required = new Set(Array.isArray(configSchema.required) ? configSchema.required.filter((r) => typeof r === "string") : []);
  const fields: SettingField[] = [];
  const unsupported: string[] = [];
  for (const [key, raw] of Object.entries(props)) {
    if (!isRecord(raw)) continue;
    const p = settle(configSchema, raw);
    const options = Array.isArray(p.enum) && p.enum.every((v) => typeof v === "string") ? (p.enum as string[]) : undefined;
    const type = typeof p.type === "string" && TYPES.includes(p.type) ? (p.type as SettingType) : options ? "string" : null;
    if (!type) {
      unsupported.push(key);
      continue;
    }
    const dflt = p.default;
    fields.push({
      key,
      label: labelOf(key, p.title ?? raw.title),
      description: typeof p.description === "string" ? p.description : undefined,
      type,
      required: required.has(key),
      default: typeof dflt === "string" || typeof dflt === "number" || typeof dflt === "boolean" ? dflt : undefined,
      options,
      minimum: typeof p.minimum === "number" ? p.minimum : undefined,
      maximum: typeof p.maximum === "number" ? p.maximum : undefined,
      ...(typeof p.exclusiveMinimum === "number" ? { above: p.exclusiveMinimum } : {}),
      ...(Array.isArray(p.examples) && ["string", "number"].includes(typeof p.examples[0]) ? { example: String(p.examples[0]) } : {}),
    });
  }
  return { fields, unsupported };
}

/** What the form holds: text as typed, booleans as checked. */
export type SettingValues = Record<string, string | boolean>;

/** The form's first values: each default filled in (an enum without one starts on its first value). */
export function initialSettings(fields: readonly SettingField[]): SettingValues {
  const out: SettingValues = {};
  for (const f of fields) {
    if (f.type === "boolean") out[f.key] = f.default === true;
    else if (f.default !== undefined) out[f.key] = String(f.default);
    else out[f.key] = f.options && f.required ? f.options[0] : "";
  }
  return out;
}

/** The form's field key for a setting, as the API names it in a 422: `providerConfig.<key>`. */
export const settingErrorKey = (key: string) => `providerConfig.${key}`;

/**
 * `providerConfig` from the form, checked as the schema says (required, whole numbers, bounds);
 * errors are keyed `providerConfig.<key>` like the API's. Empty optional settings are left out,
 * so the provider's defaults apply.
 */
export function buildSettings(fields: readonly SettingField[], values: SettingValues): { config: Json; errors: FieldErrors } {
  const config: Json = {};
  const errors: FieldErrors = {};
  for (const f of fields) {
    const v = values[f.key];
    const err = (m: string) => {
      errors[settingErrorKey(f.key)] = m;
    };
    if (f.type === "boolean") {
      config[f.key] = v === true;
      continue;
    }
    const text = typeof v === "string" ? v.trim() : "";
    if (!text) {
      // the label only: the description is the field's hint already, and nesting it reads badly
      if (f.required) err(`Give the ${inSentence(f.label)}.`);
      continue;
    }
    if (f.type === "integer" || f.type === "number") {
      const n = Number(text);
      if (!Number.isFinite(n) || (f.type === "integer" && !Number.isInteger(n))) {
        err(f.type === "integer" ? `Write a whole number, e.g. ${f.default ?? f.minimum ?? 1}.` : "Write a number.");
        continue;
      }
      if (f.minimum !== undefined && n < f.minimum) err(`At least ${f.minimum}.`);
      else if (f.above !== undefined && n <= f.above) err(`More than ${f.above}.`);
      else if (f.maximum !== undefined && n > f.maximum) err(`At most ${f.maximum}.`);
      else config[f.key] = n;
      continue;
    }
    if (f.options && !f.options.includes(text)) {
      err(`One of ${f.options.join(", ")}.`);
      continue;
    }
    config[f.key] = text;
  }
  return { config, errors };
}
