import { randomBytes } from "node:crypto";
import type { Job, Queue } from "bullmq";
import { loadConfig, type Config } from "../../src/config/index.js";
import { dropScratchNamespace } from "../../src/dev/scratch-namespace.js";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** The bearer token /metrics on the web port takes in tests (METRICS_TOKEN). */
export const TEST_METRICS_TOKEN = "test-metrics-token-0123456789";
export const metricsAuthHeader = { authorization: `Bearer ${TEST_METRICS_TOKEN}` } as const;

/** A name unique to this test file run: its Postgres schema and its BullMQ prefix. */
export function uniqueName(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;
}

/** Config as a process would parse it, pointed at this file's own schema and prefix. */
export function testConfig(name: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: name,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: name,
    PORT: "0",
    LOG_LEVEL: "silent",
    METRICS_TOKEN: TEST_METRICS_TOKEN,
    ...extra,
  });
}

/** The environment a child process needs to see the same schema and prefix. */
export function testEnv(name: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: name,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: name,
    LOG_LEVEL: "info",
    ...extra,
  };
}

/** Drop what a test file created: its schema and every Redis key under its prefix. */
export function cleanup(name: string): Promise<void> {
  return dropScratchNamespace({ databaseUrl: TEST_DATABASE_URL, redisUrl: TEST_REDIS_URL, name });
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The job once it has completed, read again after it did: a Job read while still active keeps
 * returnvalue null even after isCompleted() turns true, so the object checked is not the one returned.
 */
export async function completedJob(queue: Queue, jobId: string, timeoutMs = 20_000): Promise<Job> {
  return waitFor(
    async () => {
      if ((await queue.getJobState(jobId)) !== "completed") return undefined;
      return queue.getJob(jobId);
    },
    timeoutMs,
    `job ${jobId} completed`,
  );
}
