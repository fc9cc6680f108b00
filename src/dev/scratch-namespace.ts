// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { Redis } from "ioredis";
import pg from "pg";

export interface ScratchNamespace {
  databaseUrl: string;
  redisUrl: string;
  /** Both the Postgres schema and the Redis key prefix (tests and benchmarks use one name for both). */
  name: string;
}

/**
 * Drop what a test file or benchmark run left behind: its Postgres schema and every Redis key
 * under its prefix. Each run gets a namespace of its own so runs can share one database and
 * one Redis; SCAN (not KEYS) keeps a busy shared Redis answering while the keys are found.
 */
export async function dropScratchNamespace(ns: ScratchNamespace): Promise<void> {
  const client = new pg.Client({ connectionString: ns.databaseUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${ns.name.replaceAll('"', '""')}" cascade`);
  } finally {
    await client.end();
  }
  const redis = new Redis(ns.redisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${ns.name}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
