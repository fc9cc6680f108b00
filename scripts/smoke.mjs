// Smoke run of the three long-running processes (web, worker, relay) as the Procfile starts
// them, on whatever `node` runs this script: each must start, serve (web: /readyz 200), and
// stop cleanly on SIGTERM (exit 0). CI runs it on the oldest Node line `engines` allows.
// Needs Redis and Postgres as the test suite does; the relay gets a local SQS emulator.
// Writes a vitest-shaped report to .test-results/smoke.json so CI counts it with the suites.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSqsEmulator } from "../dist/src/dev/sqs-emulator.js";
import { dropScratchNamespace } from "../dist/src/dev/scratch-namespace.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const databaseUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const name = `smoke_${randomBytes(4).toString("hex")}`;
const results = [];
const emulator = await startSqsEmulator({ prefix: name });
const env = {
  PATH: process.env.PATH,
  DATABASE_URL: databaseUrl,
  DATABASE_SCHEMA: name,
  REDIS_URL: redisUrl,
  QUEUE_PREFIX: name,
  PORT: "0",
  LOG_LEVEL: "info",
  BAKKT_SQS_PRIMARY_URL: emulator.primaryUrl,
  BAKKT_SQS_DR_URL: emulator.drUrl,
  AWS_ENDPOINT_URL_SQS: emulator.endpoint,
  AWS_ACCESS_KEY_ID: "fauxqs",
  AWS_SECRET_ACCESS_KEY: "fauxqs",
};

function run(bin, ready, timeoutMs = 30_000) {
  const child = spawn(process.execPath, [join(root, `dist/src/bin/${bin}.js`)], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  // "close", not "exit": it fires once the output pipes are drained too.
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  const started = new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`${bin} did not log ${ready} within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const poll = setInterval(() => {
      if (ready.test(out)) {
        clearTimeout(deadline);
        clearInterval(poll);
        resolve();
      }
    }, 50);
    // A short-lived process (release) may log its line and exit between two polls.
    exited.then(({ code }) => {
      clearTimeout(deadline);
      clearInterval(poll);
      if (ready.test(out)) resolve();
      else reject(new Error(`${bin} exited (${code}) before it was ready:\n${out}`));
    });
  });
  return { bin, child, exited, started, output: () => out };
}

async function check(title, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ title, status: "passed", duration: Date.now() - t0 });
    process.stdout.write(`smoke: ok   ${title}\n`);
  } catch (err) {
    results.push({ title, status: "failed", duration: Date.now() - t0, failureMessages: [err.message] });
    process.stdout.write(`smoke: FAIL ${title}\n${err.message}\n`);
  }
}

await check(`release migrates (node ${process.version})`, async () => {
  const release = run("release", /migrations applied|already up to date/);
  await release.started;
  const { code } = await release.exited;
  if (code !== 0) throw new Error(`release exited ${code}:\n${release.output()}`);
});
const procs = [run("web", /web listening/), run("worker", /worker started/), run("relay", /relay started/)];
for (const p of procs) await check(`${p.bin} starts (node ${process.version})`, () => p.started);
await check("web answers /readyz 200", async () => {
  const port = /"port":(\d+)/.exec(procs[0].output())?.[1];
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  if (res.status !== 200) throw new Error(`/readyz answered ${res.status}: ${await res.text()}`);
});
for (const p of procs) {
  await check(`${p.bin} stops cleanly on SIGTERM`, async () => {
    if (p.child.exitCode !== null) throw new Error(`${p.bin} had already exited (${p.child.exitCode})`);
    p.child.kill("SIGTERM");
    const { code } = await p.exited;
    if (code !== 0) throw new Error(`${p.bin} exited ${code}:\n${p.output()}`);
  });
}
for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
await emulator.stop();
await dropScratchNamespace({ databaseUrl, redisUrl, name });

const failed = results.filter((r) => r.status === "failed").length;
mkdirSync(join(root, ".test-results"), { recursive: true });
writeFileSync(
  join(root, ".test-results/smoke.json"),
  JSON.stringify({ numPassedTests: results.length - failed, numFailedTests: failed, numRuntimeErrorTestSuites: 0, node: process.version, results }, null, 2),
);
process.exit(failed > 0 ? 1 : 0);
