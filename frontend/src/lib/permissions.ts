/** Permission names match maestro/domain/rbac.py; `admin:*` grants everything. */
export type Permission =
  | "audit:read"
  | "tokens:self"
  | "system:read"
  | "admin:users"
  | "admin:tokens"
  | "runs:read"
  | "runs:write"
  | "pipelines:write"
  | "alerts:write"
  | "policies:read"
  | "policies:write"
  | "rollouts:read"
  | "rollouts:promote"
  | "admin:*"
  | (string & {});

export function can(held: readonly string[] | undefined, wanted: Permission): boolean {
  if (!held) return false;
  return held.includes("admin:*") || held.includes(wanted);
}

export function canAny(held: readonly string[] | undefined, wanted: readonly Permission[]): boolean {
  return wanted.some((w) => can(held, w));
}
