/**
 * Structured log lines, kept free of React: `key=value` (logfmt) and JSON lines parsed into fields,
 * and the field filter the log view applies (`level=error status=5*`).
 */
import { stripAnsi } from "@/lib/ansi";

/** A line's fields in the order they appear; nested JSON keys are flattened with dots (`http.status`). */
export type LogFields = ReadonlyArray<readonly [key: string, value: string]>;

const MAX_JSON_DEPTH = 16;
const MAX_FIELDS = 200;

function scalar(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null) return "null";
  return String(v);
}

function flatten(value: unknown, prefix: string, out: [string, string][], depth: number): void {
  if (out.length >= MAX_FIELDS) return;
  if (value !== null && typeof value === "object" && depth < MAX_JSON_DEPTH) {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) {
      if (prefix) out.push([prefix, Array.isArray(value) ? "[]" : "{}"]);
      return;
    }
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
    return;
  }
  if (prefix) out.push([prefix, typeof value === "object" && value !== null ? JSON.stringify(value) : scalar(value)]);
}

/** A JSON object, alone on the line or after a prefix (a timestamp, a logger name): its fields, flattened. */
function parseJson(text: string): [string, string][] | null {
  const end = text.lastIndexOf("}");
  if (end < 0 || text.slice(end + 1).trim()) return null;
  for (let start = text.indexOf("{"); start >= 0 && start < end; start = text.indexOf("{", start + 1)) {
    if (text[start - 1] === "=") continue; // `key={...}` is a logfmt value
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.slice(start, end + 1));
    } catch {
      continue;
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return null;
    const out: [string, string][] = [];
    flatten(parsed, "", out, 0);
    return out.length ? out : null;
  }
  return null;
}

// key=value, key="quoted value" (backslash escapes), key='single quoted'; the key starts a word.
const PAIR = /(?:^|\s)([A-Za-z_@][\w.\-/@]*)=(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"'=][^\s]*|(?=\s|$)))/g;

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c));
}

function parseLogfmt(text: string): [string, string][] | null {
  const out: [string, string][] = [];
  for (const m of text.matchAll(PAIR)) {
    const value = m[2] !== undefined ? unescape(m[2]) : (m[3] ?? m[4] ?? "");
    out.push([m[1], value]);
    if (out.length >= MAX_FIELDS) break;
  }
  return out.length ? out : null;
}

/** The fields of a log line (ANSI colours ignored): JSON first, then `key=value` pairs; null when it has neither. */
export function parseLogFields(line: string): LogFields | null {
  const text = stripAnsi(line).trim();
  if (!text) return null;
  return parseJson(text) ?? parseLogfmt(text);
}

const cache = new WeakMap<object, LogFields | null>();

/** parseLogFields, remembered per line object (lines are immutable once in the buffer). */
export function fieldsOf(l: { line: string }): LogFields | null {
  if (cache.has(l)) return cache.get(l) ?? null;
  const f = parseLogFields(l.line);
  cache.set(l, f);
  return f;
}

export interface FieldCondition {
  key: string;
  /** `=` the value matches; `!=` the field is absent or does not match. */
  op: "=" | "!=";
  /** Compared case-insensitively; `*` matches any run of characters (`status=5*`). */
  value: string;
}

const CONDITION = /([^\s!=]+)(!=|=)(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;

/**
 * A field filter as typed: space-separated `key=value` / `key!=value` conditions, all of which must
 * hold. Returns the conditions and the parts that are not conditions (to tell the user).
 */
export function parseFieldFilter(text: string): { conditions: FieldCondition[]; invalid: string[] } {
  const conditions: FieldCondition[] = [];
  let rest = text;
  for (const m of text.matchAll(CONDITION)) {
    const value = m[3] !== undefined ? unescape(m[3]) : (m[4] ?? m[5] ?? "");
    conditions.push({ key: m[1], op: m[2] as "=" | "!=", value });
    rest = rest.replace(m[0], " ");
  }
  return { conditions, invalid: rest.split(/\s+/).filter(Boolean) };
}

/** The filter text for conditions (quoting values with spaces), the inverse of parseFieldFilter. */
export function formatFieldFilter(conditions: readonly FieldCondition[]): string {
  return conditions
    .map((c) => `${c.key}${c.op}${/[\s"']/.test(c.value) || c.value === "" ? `"${c.value.replace(/["\\]/g, "\\$&")}"` : c.value}`)
    .join(" ");
}

function globMatcher(pattern: string): (v: string) => boolean {
  const p = pattern.toLowerCase();
  if (!p.includes("*")) return (v) => v.toLowerCase() === p;
  const re = new RegExp(`^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
  return (v) => re.test(v.toLowerCase());
}

/** A predicate over a line's fields for the conditions (every one must hold; keys compare case-insensitively). */
export function fieldMatcher(conditions: readonly FieldCondition[]): (fields: LogFields | null) => boolean {
  const tests = conditions.map((c) => ({ key: c.key.toLowerCase(), op: c.op, match: globMatcher(c.value) }));
  return (fields) =>
    tests.every((t) => {
      const hit = fields?.some(([k, v]) => k.toLowerCase() === t.key && t.match(v)) ?? false;
      return t.op === "=" ? hit : !hit;
    });
}

/** Field keys seen in these lines, most frequent first (for the filter's suggestions). */
export function commonKeys(lines: Iterable<{ line: string }>, max = 20): string[] {
  const counts = new Map<string, number>();
  for (const l of lines) for (const [k] of fieldsOf(l) ?? []) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([k]) => k);
}
