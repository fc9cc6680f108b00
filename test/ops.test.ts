import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { freePort } from "../src/dev/embedded-redis.js";
import { chainMetrics } from "../src/chain/metrics.js";
import { relayMetrics } from "../src/relay/metrics.js";
import { metricsAuthHeader, testEnv } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import { startStack, type TestStack } from "./helpers/stack.js";

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}

/** Metric names in Prometheus exposition text, with a histogram's series names too. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(`${m[1]}${s}`);
  }
  return names;
}

describe("operations files", () => {
  let stack: TestStack;
  let worker: Spawned;
  let exported: Set<string>;
  let texts: Record<string, string>;

  beforeAll(async () => {
    // The real processes' /metrics: web in-process, a worker as a child with METRICS_PORT.
    stack = await startStack("ops", { web: true });
    const port = await freePort();
    worker = spawnNode(
      `${ROOT}dist/src/bin/worker.js`,
      [],
      testEnv(stack.name, {
        METRICS_PORT: String(port),
        COMPLYADVANTAGE_API_URL: "http://127.0.0.1:9/",
        COMPLYADVANTAGE_API_KEY: "unused",
      }),
    );
    await worker.waitForOutput(/worker started/, 30_000);
    const [webText, workerText] = await Promise.all([
      fetch(`${stack.base}/metrics`, { headers: metricsAuthHeader }).then((r) => r.text()),
      fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()),
    ]);
    // The relay needs SQS to start; its metrics module is the one its process registers.
    const relayRegistry = new Registry();
    relayMetrics(relayRegistry);
    // So are the chain monitor's (this worker has no chain configured).
    chainMetrics(relayRegistry, 1n);
    texts = { web: webText, worker: workerText, relay: await relayRegistry.metrics() };
    exported = new Set(Object.values(texts).flatMap((t) => [...exportedNames(t)]));
  });
  afterAll(async () => {
    worker?.child.kill("SIGTERM");
    await worker?.exited;
    // The child worker uses the namespace: it is gone before close() drops it.
    await stack?.close();
  });

  const rules = (parse(readFileSync(`${ROOT}ops/prometheus/alerts.yml`, "utf8")) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

  it("promtool (Prometheus' own linter) passes every process's /metrics and the alert rules", () => {
    const promtool = execFileSync("bash", [`${ROOT}scripts/promtool.sh`], { encoding: "utf8" }).trim();
    for (const [process, text] of Object.entries(texts)) {
      expect(text, process).toContain("# TYPE ");
      const check = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
      expect({ process, status: check.status, problems: `${check.stdout}${check.stderr}` }).toEqual({ process, status: 0, problems: "" });
    }
    const rules = spawnSync(promtool, ["check", "rules", `${ROOT}ops/prometheus/alerts.yml`], { encoding: "utf8" });
    expect(rules.status, `${rules.stdout}${rules.stderr}`).toBe(0);
  });

  it("the alert rules file loads and every rule is complete", () => {
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Hookrail[A-Za-z]+$/);
      expect(r.labels.severity).toMatch(/^(page|warn)$/);
      expect(r.annotations.summary.length).toBeGreaterThan(5);
      if (r.for) expect(r.for).toMatch(/^\d+[smh]$/);
      let depth = 0;
      for (const ch of r.expr) {
        depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
        expect(depth).toBeGreaterThanOrEqual(0);
      }
      expect(depth).toBe(0);
    }
    const names = rules.map((r) => r.alert);
    // What the playbook and the issue ask to be alerted on.
    for (const wanted of [
      "HookrailWebhookFailureRate",
      "HookrailJobFailureRate",
      "HookrailDeadLetters",
      "HookrailQueueWaitHigh",
      "HookrailCircuitBreakerOpen",
      "HookrailRelayLag",
    ]) {
      expect(names).toContain(wanted);
    }
    expect(rules.find((r) => r.alert === "HookrailWebhookFailureRate")!.expr).toContain("> 0.10");
    expect(rules.find((r) => r.alert === "HookrailWebhookFailureRate")!.for).toBe("10m");
  });

  it("every metric the rules and the dashboard name is one the processes export", () => {
    const dashboard = readFileSync(`${ROOT}ops/grafana/hookrail.json`, "utf8");
    JSON.parse(dashboard);
    const referenced = new Set(
      [
        ...rules
          .map((r) => r.expr)
          .join("\n")
          .matchAll(/hookrail_[a-z_]+/g),
        ...dashboard.matchAll(/hookrail_[a-z_]+/g),
      ].map((m) => m[0]),
    );
    expect(referenced.size).toBeGreaterThan(10);
    const missing = [...referenced].filter((n) => !exported.has(n));
    expect(missing).toEqual([]);
  });
});
