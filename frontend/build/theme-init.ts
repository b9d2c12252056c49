import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Plugin } from "vite";

/**
 * Applies the stored (or system) colour theme before first paint without an inline script,
 * which the production CSP (script-src 'self' 'nonce-…') would block: the tiny classic script
 * in src/theme-init.js is emitted as a hashed file under assets/ and loaded from <head>.
 */
export function themeInit(): Plugin {
  const source = () => readFileSync(new URL("../src/theme-init.js", import.meta.url), "utf8");
  let fileName = "";
  let isBuild = false;
  return {
    name: "maestro-theme-init",
    configResolved(config) {
      isBuild = config.command === "build";
      if (isBuild) {
        const hash = createHash("sha256").update(source()).digest("base64url").slice(0, 8);
        fileName = `assets/theme-init-${hash}.js`;
      }
    },
    generateBundle() {
      this.emitFile({ type: "asset", fileName, source: source() });
    },
    transformIndexHtml() {
      return [
        {
          tag: "script",
          attrs: { src: isBuild ? `/${fileName}` : "/src/theme-init.js" },
          injectTo: "head",
        },
      ];
    },
  };
}
