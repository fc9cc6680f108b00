import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/dev/embedded-redis.js";
import { metricsAuthHeader, TEST_METRICS_TOKEN, testEnv, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { paymentBody, standardHeaders } from "./helpers/webhook-senders.js";

const PAY = `whsec_${randomBytes(24).toString("base64")}`;

/** One request on a connection of its own, so the cluster's round robin spreads them over the workers. */
function post(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
  agent: http.Agent | false = false,
  method = "POST",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, headers, agent }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const lines = (out: string) =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("web process with WEB_CONCURRENCY=2 (node:cluster, real processes)", () => {
  let stack: TestStack;
  let web: Spawned;
  let port: number;
  let sent = 0;

  beforeAll(async () => {
    stack = await startStack("webcluster");
    port = await freePort();
    web = spawnNode(
      `${ROOT}dist/src/bin/web.js`,
      [],
      testEnv(stack.name, { PORT: String(port), WEB_CONCURRENCY: "2", PAYMENTS_WEBHOOK_SECRETS: PAY, METRICS_TOKEN: TEST_METRICS_TOKEN }),
    );
    await waitFor(async () => lines(web.stdout()).filter((l) => l.msg === "web listening").length >= 2, 30_000, "two workers listening");
  });
  afterAll(async () => {
    if (web && web.child.exitCode === null) {
      web.child.kill("SIGTERM");
      await web.exited;
    }
    await stack?.close();
  });

  const webhook = (id: string, agent: http.Agent | false = false) => {
    sent++;
    const body = paymentBody({ bankTransactionId: id });
    return post(port, "/webhooks/payments", body, standardHeaders(PAY, body), agent);
  };

  it("serves webhooks from both workers on one port and /metrics sums them", async () => {
    // The workers accept from the shared socket themselves, so which one takes a burst is the
    // kernel's choice: one may take a whole burst of cheap requests. Bursts go until both have
    // served (a single worker would never get there).
    const servedBy = () =>
      new Set(
        lines(web.stdout())
          .filter((l) => l.msg === "webhook")
          .map((l) => l.pid),
      );
    let sent = 0;
    for (let burst = 0; burst < 10 && (sent === 0 || servedBy().size < 2); burst++) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => webhook(`BTX-cl-${sent + i}`)));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
      sent += 20;
    }
    expect(servedBy().size).toBe(2);

    // Whichever worker answers the scrape, it reports the whole process.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: "close", ...metricsAuthHeader } });
      const text = await res.text();
      const total = [...text.matchAll(/^hookrail_webhook_requests_total\{[^}]*outcome="accepted"[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
      expect(total).toBe(sent);
      // The queue depth is read from Redis by each worker: reported once, not summed.
      expect(text).toMatch(new RegExp(`^hookrail_queue_jobs\\{queue="payments",state="waiting"\\} ${sent}$`, "m"));
    }
  });

  it("replaces a worker that dies", async () => {
    const before = lines(web.stdout()).filter((l) => l.msg === "web listening");
    const victim = before[0]!.pid as number;
    process.kill(victim, "SIGKILL");
    await waitFor(async () => lines(web.stdout()).filter((l) => l.msg === "web listening").length >= 3, 30_000, "a new worker listening");
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => webhook(`BTX-cl-after-${i}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(202));
  });

  it("SIGTERM: the requests in flight are answered, the jobs are in Redis, and it exits 0", async () => {
    // The connections are opened and accepted first: one not yet accepted when the workers
    // stop listening is refused by the kernel, as with any single process (the sender
    // retries; nothing was acknowledged). What must hold is that no request a worker took is dropped.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 30 });
    await Promise.all(Array.from({ length: 30 }, () => post(port, "/healthz", "", {}, agent, "GET")));
    const burst = Array.from({ length: 30 }, (_, i) => webhook(`BTX-cl-term-${i}`, agent));
    await Promise.race(burst);
    web.child.kill("SIGTERM");
    const settled = await Promise.allSettled(burst);
    agent.destroy();
    const statuses = settled.map((s) => (s.status === "fulfilled" ? s.value.status : (s.reason as NodeJS.ErrnoException).code));
    // Every request sent before the signal is answered (round-robin scheduling reset 18 of 30).
    expect(statuses).toEqual(Array(30).fill(202));
    const { code } = await web.exited;
    expect(code).toBe(0);
    const counts = await stack.c.queues.queue("payments").getJobCounts("waiting");
    expect(counts.waiting).toBe(sent);
  }, 30_000);
});
