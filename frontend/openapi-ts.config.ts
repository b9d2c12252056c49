import { defineConfig } from "@hey-api/openapi-ts";

/**
 * Generates the typed API client, Zod schemas and TanStack Query helpers in src/client
 * from openapi.json (written by the backend from FastAPI). Never edit src/client by hand:
 * run `npm run generate`. `npm run check:client` regenerates into a temp dir (through
 * MAESTRO_CLIENT_OUT) and fails when the committed client is stale.
 */
export default defineConfig({
  input: "./openapi.json",
  output: {
    path: process.env.MAESTRO_CLIENT_OUT ?? "./src/client",
    clean: true,
  },
  plugins: [
    {
      name: "@hey-api/client-fetch",
      // The app configures baseUrl/credentials/CSRF at runtime (src/lib/api.ts).
      baseUrl: false,
      throwOnError: true,
    },
    // Enums (statuses) also as objects, so the UI lists them (filters) from the same schema.
    { name: "@hey-api/typescript", enums: "javascript" },
    { name: "zod", compatibilityVersion: "mini" },
    {
      name: "@hey-api/sdk",
      // Response validation with the generated Zod schemas would ship zod in the
      // entry chunk; schemas are used by forms in lazy routes instead.
      validator: false,
    },
    "@tanstack/react-query",
  ],
});
