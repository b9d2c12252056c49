import { readFileSync } from "node:fs";
import path from "node:path";
import type { OutputBundle, OutputChunk } from "rollup";
import type { Plugin } from "vite";
import { lazyRoutes, pathPattern, type LazyRoute } from "./routes";

/**
 * A cold load's head start (issue 13): src/boot.js, inlined at the top of <head> (with the
 * per-response CSP nonce the server writes into index.html, so script-src allows it), starts
 * GET /api/auth/me and modulepreloads the current route's chunks while the entry module still
 * downloads, instead of after it ran: inline, it costs no request of its own and runs before the
 * stylesheet could hold it up. The route table comes from the lazy routes of src/app/router.tsx
 * and the bundle.
 */

const SRC = new URL("../src/", import.meta.url);

function moduleKey(id: string | null): string | null {
  if (!id) return null;
  const rel = path.relative(SRC.pathname, id);
  return rel.startsWith("..") ? null : rel.replace(/\.[jt]sx?$/, "");
}

/** Each route's chunks (the page's and the shell's, with their static imports), less what index.html already loads. */
export function routeTable(bundle: OutputBundle, routes: LazyRoute[]): { files: string[]; routes: [string, number[]][] } {
  const chunks = Object.values(bundle).filter((c): c is OutputChunk => c.type === "chunk");
  const byModule = new Map(chunks.map((c) => [moduleKey(c.facadeModuleId), c] as const));
  const byFile = new Map(chunks.map((c) => [c.fileName, c] as const));
  const closure = (start: string[], into = new Set<string>()) => {
    for (const f of start) {
      if (into.has(f)) continue;
      into.add(f);
      closure(byFile.get(f)?.imports ?? [], into);
    }
    return into;
  };
  const preloadedByHtml = closure(chunks.filter((c) => c.isEntry).map((c) => c.fileName));
  const shell = byModule.get("features/shell/app-shell");
  const files: string[] = [];
  const index = (f: string) => {
    const at = files.indexOf(f);
    return at >= 0 ? at : files.push(f) - 1;
  };
  const table: [string, number[]][] = [];
  for (const r of routes) {
    const page = byModule.get(r.module);
    if (!page) continue;
    const roots = [page.fileName, ...(r.inShell && shell ? [shell.fileName] : [])];
    const needed = [...closure(roots)].filter((f) => !preloadedByHtml.has(f));
    table.push([pathPattern(r.path), needed.map((f) => index(`/${f}`))]);
  }
  return { files, routes: table };
}

/** The placeholder in src/boot.js that the route table replaces. */
const TABLE_MARK = "__MAESTRO_ROUTES__";

export function boot(): Plugin {
  let isBuild = false;
  return {
    name: "maestro-boot",
    configResolved(config) {
      isBuild = config.command === "build";
    },
    transformIndexHtml: {
      order: "post",
      handler(html, ctx) {
        let data: ReturnType<typeof routeTable> = { files: [], routes: [] };
        if (isBuild && ctx.bundle) data = routeTable(ctx.bundle, lazyRoutes(readFileSync(new URL("app/router.tsx", SRC), "utf8")));
        // {f: [file, ...], r: [[path pattern, [index into f, ...]], ...]}; "<" escaped so no "</script>" can appear
        const table = JSON.stringify({ f: data.files, r: data.routes }).replace(/</g, "\\u003c");
        const code = readFileSync(new URL("boot.js", SRC), "utf8").replace(TABLE_MARK, table);
        if (!code.includes(table)) throw new Error(`src/boot.js lost its ${TABLE_MARK} placeholder`);
        // right after <title>: before the stylesheet, which would make a script wait for it
        const tag = `<script nonce="__CSP_NONCE__">\n${code}</script>`;
        if (!html.includes("</title>")) throw new Error("index.html has no <title> to put the boot script after");
        return html.replace("</title>", `</title>\n    ${tag}`);
      },
    },
  };
}
