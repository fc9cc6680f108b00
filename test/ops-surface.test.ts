import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUE_MODULES, QUEUE_NAMES } from "../src/processes/queue-modules.js";
import { humanDuration, retryWindowMs } from "../src/queues/queue-module.js";
import { buildApp } from "../src/server/app.js";
import { metricsAuthHeader } from "./helpers/env.js";
import { ROOT } from "./helpers/process.js";
import { startStack, type TestStack } from "./helpers/stack.js";

const BOARD_AUTH = { authorization: `Basic ${Buffer.from("ops:board-pass-123").toString("base64")}` };

// The ops surface of a listening web process: the board, /metrics, headers and body limits.
describe("ops surface", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack("ops_surface", { env: { BOARD_USERNAME: "ops", BOARD_PASSWORD: "board-pass-123" }, web: true });
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
});
