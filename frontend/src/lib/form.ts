import { safeParse, type core } from "zod/mini";
import { ApiError } from "@/lib/api-error";

export type FieldErrors = Record<string, string>;

/** Validates a request body with its generated Zod schema; field name → first message. */
export function validate<S extends core.$ZodType>(schema: S, value: unknown): { data?: core.output<S>; errors: FieldErrors } {
  const r = safeParse(schema, value);
  if (r.success) return { data: r.data, errors: {} };
  const errors: FieldErrors = {};
  for (const issue of r.error.issues) {
    const key = issue.path.map(String).join(".") || "_";
    errors[key] ??= issue.message;
  }
  return { errors };
}

/** The API's own per-field errors (problem+json `errors`), keyed like `validate`'s. */
export function serverFieldErrors(error: unknown): FieldErrors {
  const out: FieldErrors = {};
  if (error instanceof ApiError) {
    for (const e of error.errors ?? []) out[e.field.replace(/^body\./, "")] ??= e.message;
  }
  return out;
}
