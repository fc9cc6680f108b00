import { spawn } from "node:child_process";
import http from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUE_MODULES, QUEUE_NAMES } from "../src/processes/queue-modules.js";
import { humanDuration, retryWindowMs } from "../src/queues/queue-module.js";
import { buildApp } from "../src/server/app.js";
import { metricsAuthHeader } from "./helpers/env.js";
import { ROOT } from "./helpers/process.js";
import { startStack, type TestStack } from "./helpers/stack.js";

const API_TOKEN = "ops-surface-admin-token-0123";
const MiB = 1024 * 1024;

/**
 * POST `total` bytes in 64 KiB writes (chunked, or with the Content-Length declared up front),
 * stopping as soon as the server answers: the status, and how much was written by then.
 */
function postUntilAnswered(
  url: string,
  headers: Record<string, string>,
  total: number,
  declareLength: boolean,
): Promise<{ status: number; body: string; written: number }> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers, ...(declareLength ? { "content-length": String(total) } : {}) },
    });
    req.on("response", (res) => {
      answered = true;
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body, written }));
    });
    // The server closes the connection after its 413: writes after that fail, as intended.
    req.on("error", (err) => (answered ? undefined : reject(err)));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!answered && written < total) {
        written += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    req.write("[");
    pump();
  });
}

const BOARD_AUTH = { authorization: `Basic ${Buffer.from("ops:board-pass-123").toString("base64")}` };

// The ops surface of a listening web process: the board, /metrics, headers and body limits.
describe("ops surface", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack("ops_surface", { env: { BOARD_USERNAME: "ops", BOARD_PASSWORD: "board-pass-123", ADMIN_API_TOKEN: API_TOKEN }, web: true });
  });
  afterAll(() => stack?.close());

  it("warns 'No workers' only for real queues nobody consumes, never for a dead-letter queue", async () => {
    // This web process runs no workers: every real queue lacks them; the dead-letter queues have none by design.
    const res = await fetch(`${stack.base}/admin/queues/api/queues`, { headers: BOARD_AUTH });
    expect(res.status).toBe(200);
    const queues = ((await res.json()) as { queues: { name: string; hasWorkers: boolean | null }[] }).queues;
    expect(queues).toHaveLength(QUEUE_NAMES.length * 2);
    for (const q of queues) {
      // bull-board's UI shows the warning exactly when hasWorkers === false.
      if (q.name.endsWith("-dlq")) expect(q.hasWorkers, q.name).toBeNull();
      else expect(q.hasWorkers, q.name).toBe(false);
    }
  });

  it("the README's retry table is each queue's attempts and backoff as defined", () => {
    const readme = readFileSync(`${ROOT}README.md`, "utf8");
    const rows = [...readme.matchAll(/^\|\s*`([a-z-]+)`\s*\|\s*(\d+)\s*\|([^|]+)\|([^|]+)\|$/gm)].map((m) => [m[1], Number(m[2]), m[3]!.trim(), m[4]!.trim()]);
    expect(rows).toEqual(QUEUE_MODULES.map((m) => [m.name, m.attempts, humanDuration(m.backoffMs), humanDuration(retryWindowMs(m))]));
    // The case a new user met: a payment for an unknown reference gives up after about 17 minutes.
    expect(humanDuration(retryWindowMs(QUEUE_MODULES.find((m) => m.name === "payments")!))).toBe("17 min");
  });

  it("/metrics on the web port takes the METRICS_TOKEN bearer token, and is not served without one", async () => {
    const scrape = (headers: Record<string, string> = {}) => fetch(`${stack.base}/metrics`, { headers });
    const none = await scrape();
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="hookrail-metrics"');
    expect(await none.text()).not.toContain("hookrail_");
    expect((await scrape({ authorization: "Bearer not-the-metrics-token" })).status).toBe(401);
    expect((await scrape({ authorization: `Basic ${Buffer.from("ops:board-pass-123").toString("base64")}` })).status).toBe(401);
    const ok = await scrape(metricsAuthHeader);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("hookrail_queue_jobs");
    // Without METRICS_TOKEN the web app has no /metrics at all.
    const { c } = stack;
    const bare = buildApp({ redis: c.redis, db: c.dbh.db, queues: c.queues, metrics: c.metrics, log: c.log });
    expect((await bare.request("/metrics")).status).toBe(404);
  });

  it("every route but the webhooks (their own limit) answers 413 past MAX_BODY_BYTES (1 MiB) before reading the rest", async () => {
    const api = { authorization: `Bearer ${API_TOKEN}` };
    // The case a new user met: an authenticated 60 MB POST to the admin API.
    const declared = await postUntilAnswered(`${stack.base}/api/investors`, api, 60 * MiB, true);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toEqual({ error: `body larger than ${MiB} bytes` });
    expect(declared.written).toBeLessThan(60 * MiB);
    // Chunked, with no length to refuse up front: cut off once past the limit.
    const chunked = await postUntilAnswered(`${stack.base}/api/investors`, api, 60 * MiB, false);
    expect(chunked.status).toBe(413);
    expect(chunked.written).toBeLessThan(60 * MiB);
    // The dashboard's actions too.
    const board = await postUntilAnswered(`${stack.base}/admin/queues/api/queues/payments/retry/failed`, BOARD_AUTH, 2 * MiB, true);
    expect(board.status).toBe(413);
    // Under the limit the API reads and validates as before: a clear 400, not a 413.
    const small = await fetch(`${stack.base}/api/investors`, {
      method: "POST",
      headers: { ...api, "content-type": "application/json" },
      body: JSON.stringify({ id: "x".repeat(1000) }),
    });
    expect(small.status).toBe(400);
    // The webhook routes keep WEBHOOK_MAX_BYTES (256 KiB), in their own words.
    const hook = await postUntilAnswered(`${stack.base}/webhooks/payments`, {}, 512 * 1024, true);
    expect(hook.status).toBe(413);
    expect(JSON.parse(hook.body)).toEqual({ error: `body larger than ${256 * 1024} bytes` });
  });

  it("the board page and its API send the security headers, under a CSP that allows only hookrail itself", async () => {
    for (const path of ["/admin/queues", "/admin/queues/api/queues", "/api/orders/none", "/healthz"]) {
      const res = await fetch(`${stack.base}${path}`, { headers: path.startsWith("/api") ? { authorization: `Bearer ${API_TOKEN}` } : BOARD_AUTH });
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), path).toBe("no-referrer");
      const csp = Object.fromEntries(
        res.headers
          .get("content-security-policy")!
          .split(";")
          .map((d) => d.trim().split(/\s+/))
          .map(([k, ...v]) => [k, v]),
      );
      expect(csp["frame-ancestors"], path).toEqual(["'none'"]);
      expect(csp["default-src"], path).toEqual(["'self'"]);
      expect(csp["script-src"], path).toEqual(["'self'"]);
      // Only 'self' (and data: images): no other host is allowed to serve the board anything.
      for (const sources of Object.values(csp) as string[][]) for (const src of sources) expect(src, path).toMatch(/^('self'|'none'|'unsafe-inline'|data:)$/);
    }
    // Refused answers carry them too (the browser still must not frame a 401 page).
    expect((await fetch(`${stack.base}/admin/queues`)).headers.get("x-frame-options")).toBe("DENY");
  });

  it("the board loads nothing from another host: every asset its page names is served by hookrail, the fonts included", async () => {
    const page = await (await fetch(`${stack.base}/admin/queues`, { headers: BOARD_AUTH })).text();
    const base = new URL("/admin/queues/", stack.base);
    const refs = [...page.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((m) => m[1]!).filter((r) => r !== "/admin/queues/");
    expect(refs.length).toBeGreaterThan(4);
    for (const ref of refs) {
      const url = new URL(ref, base);
      expect(url.origin, ref).toBe(stack.base);
      expect((await fetch(url, { headers: BOARD_AUTH })).status, ref).toBe(200);
    }
    // The page's stylesheet of web fonts, and every font it names, from hookrail.
    expect(refs).toContain("hookrail-static/fonts.css");
    const css = await (await fetch(new URL("hookrail-static/fonts.css", base), { headers: BOARD_AUTH })).text();
    for (const family of ["IBM Plex Sans", "IBM Plex Mono"]) expect(css).toContain(`font-family: '${family}'`);
    const fonts = [...css.matchAll(/url\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(fonts.length).toBeGreaterThan(10);
    for (const font of new Set(fonts.filter((f) => f.includes("latin-")))) {
      const res = await fetch(new URL(font, new URL("hookrail-static/", base)), { headers: BOARD_AUTH });
      expect(res.status, font).toBe(200);
      expect(res.headers.get("content-type"), font).toMatch(/^font\/woff2?$/);
      expect((await res.arrayBuffer()).byteLength, font).toBeGreaterThan(1000);
    }
    // bull-board's own language files are served too (the shim makes them loadable with credentials in the URL).
    expect((await fetch(new URL("static/locales/en-US/messages.json?v=9.10.1", base), { headers: BOARD_AUTH })).status).toBe(200);
    expect((await fetch(new URL("hookrail-static/fonts/passwd", base), { headers: BOARD_AUTH })).status).toBe(404);
  });

  it("in a real browser (Debian's Chromium), the board opened with credentials in the URL renders translated, with no CSP violation", async () => {
    const url = `http://ops:board-pass-123@${stack.base.slice("http://".length)}/admin/queues`;
    // --dump-dom prints the DOM once the page's scripts have run (virtual time lets them finish).
    // Not spawnSync: the web side under test runs in this very process.
    const args = ["--headless", "--no-sandbox", "--disable-gpu", `--user-data-dir=${mkdtempSync(join(tmpdir(), "chromium-"))}`];
    const run = await new Promise<{ dom: string; log: string }>((resolve, reject) => {
      const child = spawn("chromium", [...args, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", url], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let dom = "";
      let log = "";
      child.stdout.on("data", (d) => (dom += d));
      child.stderr.on("data", (d) => (log += d));
      child.on("error", (err) => reject(new Error(`chromium must be installed (.ci/run installs Debian's chromium): ${err.message}`)));
      child.on("close", () => resolve({ dom, log }));
    });
    // The queue cards rendered, with bull-board's English words, not its translation keys.
    expect(run.dom).toContain(">payments<");
    expect(run.dom).toContain(">payments-dlq<");
    expect(run.dom).toContain("No workers");
    expect(run.dom).not.toMatch(/>[A-Z]+(\.[A-Z_]+)+</);
    // The console would report a blocked script, style, font or request.
    expect(run.log).not.toMatch(/Refused to|Content Security Policy|Failed to load resource/);
  });
});
