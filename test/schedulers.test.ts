import { afterAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { AML_RESCREEN_SCHEDULER } from "../src/schedulers/aml-rescreen.js";
import { monthPeriod } from "../src/schedulers/period.js";
import { ConfigError } from "../src/config/index.js";
import { loadProcessConfig as loadConfig } from "../src/processes/config.js";
import { openTestQueues } from "./helpers/stack.js";
import { cleanup, testEnv, uniqueName } from "./helpers/env.js";
import { ROOT, spawnNode } from "./helpers/process.js";

const name = uniqueName("sched");

describe("job schedulers", () => {
  let redis: Redis | undefined;
  afterAll(async () => {
    redis?.disconnect();
    await cleanup(name);
  });

  it("four worker processes starting at once leave exactly one AML rescreen scheduler", async () => {
    const env = testEnv(name, { WORKER_QUEUES: "aml-rescreen", AML_RESCREEN_CRON: "0 3 1 * *" });
    const procs = Array.from({ length: 4 }, () => spawnNode(`${ROOT}dist/src/bin/worker.js`, [], env));
    try {
      await Promise.all(procs.map((p) => p.waitForOutput(/worker started/, 30_000)));
      const opened = await openTestQueues(name);
      redis = opened.redis;
      const { queues } = opened;
      const schedulers = await queues.queue("aml-rescreen").getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toEqual([AML_RESCREEN_SCHEDULER]);
      expect(schedulers[0]!.pattern).toBe("0 3 1 * *");
      expect(schedulers[0]!.tz).toBe("UTC");
      // Exactly one next run is waiting for it.
      const delayed = await queues.queue("aml-rescreen").getDelayed();
      expect(delayed).toHaveLength(1);
      expect(new Date(delayed[0]!.opts.prevMillis!).getUTCDate()).toBe(1);
      await queues.close();
    } finally {
      for (const p of procs) p.child.kill("SIGTERM");
      await Promise.all(procs.map((p) => p.exited));
    }
  });

  it("rejects a bad cron pattern with a readable message", () => {
    expect(() => loadConfig({ AML_RESCREEN_CRON: "every month" })).toThrow(ConfigError);
    expect(() => loadConfig({ AML_RESCREEN_CRON: "every month" })).toThrow(/AML_RESCREEN_CRON: expected a cron pattern/);
    expect(loadConfig({ AML_RESCREEN_CRON: "30 0 3 1 * *" }).AML_RESCREEN_CRON).toBe("30 0 3 1 * *");
  });

  it("derives a run's period from its scheduled time in UTC", () => {
    expect(monthPeriod(Date.UTC(2026, 11, 1, 3, 0, 0))).toBe("2026-12");
    expect(monthPeriod(Date.UTC(2027, 0, 1, 0, 0, 0) - 1)).toBe("2026-12");
  });
});
