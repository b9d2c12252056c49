// Fails when src/client is not what `npm run generate` makes from openapi.json.
// Regenerates into a temporary directory and compares file by file.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { postprocess } from "./postprocess-client.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const committed = join(root, "src", "client");
const fresh = mkdtempSync(join(tmpdir(), "maestro-client-"));

function walk(dir) {
  let out = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(walk(full));
    else out.push(full);
  }
  return out;
}

try {
  const bin = join(root, "node_modules", ".bin", process.platform === "win32" ? "openapi-ts.cmd" : "openapi-ts");
  const gen = spawnSync(bin, [], {
    cwd: root,
    env: { ...process.env, MAESTRO_CLIENT_OUT: fresh },
    encoding: "utf8",
  });
  if (gen.status !== 0) {
    process.stderr.write(gen.stdout + gen.stderr);
    console.error("check:client: could not generate the client from openapi.json");
    process.exit(2);
  }
  postprocess(fresh);
  const a = new Map(walk(committed).map((f) => [relative(committed, f), f]));
  const b = new Map(walk(fresh).map((f) => [relative(fresh, f), f]));
  const problems = [];
  for (const [rel, f] of b) {
    if (!a.has(rel)) problems.push(`missing: src/client/${rel}`);
    else if (readFileSync(a.get(rel), "utf8") !== readFileSync(f, "utf8")) problems.push(`differs: src/client/${rel}`);
  }
  for (const rel of a.keys()) if (!b.has(rel)) problems.push(`extra: src/client/${rel}`);
  if (problems.length) {
    console.error(problems.map((p) => `  ${p}`).join("\n"));
    console.error("generated client is stale: run npm run generate");
    process.exit(1);
  }
  console.log(`check:client: src/client is up to date with openapi.json (${b.size} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
