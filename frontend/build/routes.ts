/** The lazy routes of src/app/router.tsx, read from its source (for build/boot.ts; no Node APIs here). */

export interface LazyRoute {
  /** The URL pattern, e.g. "/runs/:runId". */
  path: string;
  /** The page module, relative to src/ without extension, e.g. "features/runs/run-detail-page". */
  module: string;
  /** Rendered inside the signed-in shell (everything but /login). */
  inShell: boolean;
}

/** The lazy routes of router.tsx, in its order (the first match wins, as in the router). */
export function lazyRoutes(routerSource: string): LazyRoute[] {
  const out: LazyRoute[] = [];
  const re = /(?:path:\s*"([^"]+)"|index:\s*true)[^{}]*?lazy:\s*\(\)\s*=>\s*import\("@\/([^"]+)"\)/g;
  for (const m of routerSource.matchAll(re)) {
    const raw = m[1] ?? "";
    if (raw === "*") continue;
    const absolute = raw.startsWith("/");
    out.push({ path: absolute ? raw : `/${raw}`, module: m[2], inShell: !absolute });
  }
  return out;
}

/** "/runs/:runId" → "^/runs/[^/]+/?$". */
export function pathPattern(routePath: string): string {
  const parts = routePath
    .split("/")
    .filter(Boolean)
    .map((p) => (p.startsWith(":") ? "[^/]+" : p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return `^/${parts.join("/")}${parts.length ? "/?" : ""}$`;
}
