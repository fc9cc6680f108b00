// The layer rule of src/, checked on every import (run by `npm run lint`):
//   bin → processes → {server, relay, schedulers, processors} → the platform below them.
// Nothing imports upward; server and relay (ingress) never import processors or schedulers,
// and processors import from an ingress only the *types* of the jobs it accepted (its
// provider readers and the relay's job), never its code. Dev-only code (src/dev) is loaded
// by src/bin/dev.ts and the simulator (src/bin/simulate.ts) alone. Exits 1 listing every violation.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");

/** The platform: anyone above may use it; it uses only itself. */
const PLATFORM = [
  "queues",
  "db",
  "chain",
  "clients",
  "config",
  "validation",
  "net",
  "redis",
  "lifecycle",
  "dev",
  "log.ts",
  "metrics.ts",
  "metrics-server.ts",
  "with-timeout.ts",
];
/** What each upper layer may import, besides the platform and itself. */
const ALLOWED = {
  bin: ["processes", "server", "relay", "schedulers", "processors"],
  processes: ["server", "relay", "schedulers", "processors"],
  schedulers: ["processors"],
  processors: [],
  server: [],
  relay: [],
};
/** Job contracts an ingress owns, which processors may import as types only. */
const CONTRACTS = [/^server\/webhooks\/provider\.ts$/, /^server\/webhooks\/providers\/[^/]+\.ts$/, /^relay\/job\.ts$/, /^relay\/envelope\.ts$/];

const layerOf = (rel) => {
  const top = rel.split("/")[0];
  return PLATFORM.includes(top) ? "platform" : top;
};

const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });

const problems = [];
for (const file of files(src)) {
  const rel = relative(src, file).split(sep).join("/");
  const from = layerOf(rel);
  // Import and re-export statements as Biome formats them (the tree passes `biome check`
  // before this runs): `import [type] {...} from "x";`, `import x from "x";`, `export ... from "x";`.
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s*from\s+"([^"]+)";/gms)) {
    const [, keyword, typeKeyword, clause, spec] = m;
    if (!spec.startsWith(".")) continue;
    const target = relative(src, resolve(dirname(file), spec))
      .split(sep)
      .join("/")
      .replace(/\.js$/, ".ts");
    if (target.startsWith("..")) continue; // db/migrations and other roots outside src/
    const to = layerOf(target);
    // Dev-only code (embedded servers, SaaS stubs) is for `npm run dev`, tests and benches.
    if (target.startsWith("dev/") && !rel.startsWith("dev/") && rel !== "bin/dev.ts" && rel !== "bin/simulate.ts") {
      problems.push(`${rel}: imports ${target} (only src/bin/dev.ts and src/bin/simulate.ts may load dev-only code)`);
      continue;
    }
    if (to === from || to === "platform") continue;
    if (from === "platform") {
      problems.push(`${rel}: imports ${target} (the platform imports nothing above it)`);
      continue;
    }
    if (ALLOWED[from]?.includes(to)) continue;
    // Type-only: `import type {...}`, or braces whose every specifier is `type X`.
    const braces = /^\{([^}]*)\}$/.exec(clause.trim());
    const typeOnly =
      Boolean(typeKeyword) ||
      (keyword === "import" &&
        braces !== null &&
        braces[1]
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean)
          .every((x) => x.startsWith("type ")));
    const contract = CONTRACTS.some((c) => c.test(target));
    if (from === "processors" && typeOnly && contract) continue;
    problems.push(`${rel}: imports ${target} (${from} may not import ${to}${from === "processors" && contract ? " except as `import type`" : ""})`);
  }
}
if (problems.length) {
  process.stderr.write(`layers: ${problems.length} import(s) point the wrong way:\n${problems.map((p) => `  ${p}`).join("\n")}\n`);
  process.exit(1);
}
process.stdout.write("layers: every import points down\n");
