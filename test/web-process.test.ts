import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildClients, type Clients } from "../src/processes/clients.js";
import { startWebSide } from "../src/processes/web.js";
import { QUEUE_NAMES } from "../src/processes/queue-modules.js";
import { metricsAuthHeader, testConfig, uniqueName } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";

describe("web process", () => {
  let stack: TestStack;
  let c: Clients;
  beforeAll(async () => {
    stack = await startStack("web_process", { env: { BOARD_USERNAME: "ops", BOARD_PASSWORD: "board-pass-123" }, web: true });
    c = stack.c;
  });
  afterAll(() => stack?.close());

  it("serves liveness and readiness", async () => {
    expect((await fetch(`${stack.base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", redis: "ok", postgres: "ok" });
  });

  it("guards the dashboard with basic auth and lists every queue and dead-letter queue", async () => {
    expect((await fetch(`${stack.base}/admin/queues`)).status).toBe(401);
    const wrong = Buffer.from("ops:nope").toString("base64");
    expect((await fetch(`${stack.base}/admin/queues`, { headers: { authorization: `Basic ${wrong}` } })).status).toBe(401);
    const auth = { authorization: `Basic ${Buffer.from("ops:board-pass-123").toString("base64")}` };
    const page = await fetch(`${stack.base}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
    const api = await fetch(`${stack.base}/admin/queues/api/queues`, { headers: auth });
    const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toContain("payments");
    expect(names).toContain("payments-dlq");
    expect(names).toContain("broker-events-dlq");
    expect(names).toHaveLength(QUEUE_NAMES.length * 2);
  });

  it("exports Prometheus metrics including queue depths", async () => {
    await c.queues.queue("dividend-payouts").add("pay", { distributionId: "d-2026-12" }, { jobId: "dividend-d-2026-12" });
    const res = await fetch(`${stack.base}/metrics`, { headers: metricsAuthHeader });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('hookrail_queue_jobs{queue="dividend-payouts",state="waiting"} 1');
    expect(text).toContain("process_cpu_user_seconds_total");
  });

  it("readiness fails when Postgres is unreachable", async () => {
    // A second web side whose database pool points at a closed port.
    const broken = await buildClients(
      testConfig(uniqueName("webdown"), { DATABASE_URL: "postgres://postgres@127.0.0.1:1/test", DATABASE_SCHEMA: "" }),
      "producer",
      "web",
    ).catch((e: Error) => e);
    // Opening a pool does not connect, so clients build; readiness must then report postgres down.
    expect(broken).not.toBeInstanceOf(Error);
    const bc = broken as Clients;
    const side = await startWebSide(bc);
    try {
      const res = await fetch(`http://127.0.0.1:${side.port}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { redis: string; postgres: string };
      expect(body.redis).toBe("ok");
      expect(body.postgres).toMatch(/^down/);
    } finally {
      await side.stop();
      await bc.queues.close();
      bc.redis.disconnect();
      await bc.dbh.db.destroy().catch(() => {});
    }
  });
});
