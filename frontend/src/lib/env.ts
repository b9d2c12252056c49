import { useCallback } from "react";
import { useSearchParams } from "react-router";

/** The selected environment lives in the URL (`?env=`) and is carried across navigation. */
export const ENV_PARAM = "env";
export const ENV_ORDER = ["dev", "staging", "prod"];

export function useCurrentEnv(): string | null {
  const [params] = useSearchParams();
  return params.get(ENV_PARAM);
}

/** `to` with the current `?env=` kept (unless `to` names its own). */
export function withEnv(to: string, env: string | null): string {
  if (!env) return to;
  const hashAt = to.indexOf("#");
  const hash = hashAt >= 0 ? to.slice(hashAt) : "";
  const base = hashAt >= 0 ? to.slice(0, hashAt) : to;
  const [path, query = ""] = base.split("?", 2);
  const params = new URLSearchParams(query);
  if (!params.has(ENV_PARAM)) params.set(ENV_PARAM, env);
  return `${path}?${params.toString()}${hash}`;
}

export function useEnvHref(): (to: string) => string {
  const env = useCurrentEnv();
  return useCallback((to: string) => withEnv(to, env), [env]);
}

export function sortEnvNames(names: Iterable<string>): string[] {
  const rank = (n: string) => {
    const i = ENV_ORDER.indexOf(n);
    return i < 0 ? ENV_ORDER.length : i;
  };
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
