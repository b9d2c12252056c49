import type { GetManualChunk, ManualChunkMeta } from "rollup";

/**
 * Fewer, larger chunks for a cold load (issue 13: ~60 requests, many ~500-byte icon files, queued
 * six at a time before the page could render). A signed-in route then loads the entry, a few
 * shared chunks, the shell and its page:
 * - React and the router: their own long-cached chunk; every icon: one chunk;
 * - "vendor" and "app": the libraries and our modules the entry uses (every page, /login too);
 * - "vendor-ui" and "shared": the others used by the signed-in shell or by two or more pages
 *   (dialogs, menus, status badges, formatting, queries), unless they are or pull in a heavy
 *   page-specific library (the graph, markdown), which stays with the pages that need it.
 */
type ModuleInfo = NonNullable<ReturnType<ManualChunkMeta["getModuleInfo"]>>;

const roots = new Map<string, Set<string>>();

/** The entry and lazily imported modules (routes) whose code reaches `id`. */
function rootsOf(id: string, meta: ManualChunkMeta, visiting = new Set<string>()): Set<string> {
  const known = roots.get(id);
  if (known) return known;
  const info: ModuleInfo | null = meta.getModuleInfo(id);
  const out = new Set<string>();
  if (!info || visiting.has(id)) return out;
  if (info.isEntry || info.dynamicImporters.length > 0) out.add(id);
  visiting.add(id);
  for (const importer of info.importers) for (const r of rootsOf(importer, meta, visiting)) out.add(r);
  visiting.delete(id);
  if (visiting.size === 0) roots.set(id, out); // memoize only complete answers (not mid-cycle ones)
  return out;
}

/** Libraries big enough, and used by few enough pages, to load only where needed. */
const HEAVY = /\/node_modules\/(@xyflow|d3-|react-markdown|remark-|rehype-|micromark|mdast-|hast-|unist-|unified|vfile|@tanstack\/react-virtual)/;

const SHELL = /\/src\/features\/shell\/app-shell\.tsx$/;

export const manualChunks: GetManualChunk = (id, meta) => {
  if (/node_modules\/(react|react-dom|scheduler|react-router)\//.test(id)) return "vendor-react";
  if (id.includes("/node_modules/lucide-react/")) return "icons";
  const info = meta.getModuleInfo(id);
  // a route's own module stays the root of its chunk
  if (!info || info.isEntry || info.dynamicImporters.length > 0) return undefined;
  const reach = [...rootsOf(id, meta)];
  // reached from the entry (index.html): loaded on every page, /login included
  const eager = reach.some((r) => meta.getModuleInfo(r)?.isEntry);
  // used by the signed-in shell or by two or more pages, and not one of the heavy libraries
  const common = (reach.some((r) => SHELL.test(r)) || reach.length >= 2) && !HEAVY.test(id);
  if (id.includes("/node_modules/")) return eager ? "vendor" : common ? "vendor-ui" : undefined;
  if (!id.includes("/src/")) return undefined;
  if (eager) return "app";
  if (common && !info.importedIds.some((i) => HEAVY.test(i))) return "shared";
  return undefined;
};
