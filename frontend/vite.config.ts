import path from "node:path";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";
import { boot } from "./build/boot";
import { manualChunks } from "./build/chunks";
import { themeInit } from "./build/theme-init";

const api = process.env.MAESTRO_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  plugins: [react(), tailwindcss(), themeInit(), boot()],
  resolve: {
    alias: { "@": path.resolve(import.meta.dirname, "src") },
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    // Dev mode: the UI on :5173, the API (maestro up / uvicorn) on :8000, same origin for the browser.
    proxy: {
      "/api": { target: api, changeOrigin: false },
      "/metrics": { target: api, changeOrigin: false },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // Entry chunk stays small; everything page-specific is a lazy route chunk.
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      output: {
        manualChunks,
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    restoreMocks: true,
    // Component tests render whole pages: on a loaded 2-core machine (CI shares it) one can take
    // several seconds. These bound a hang, they do not measure speed.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
