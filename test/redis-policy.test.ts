import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../src/dev/embedded-redis.js";
import { ROOT, spawnNode } from "./helpers/process.js";
import { TEST_DATABASE_URL, cleanup, uniqueName } from "./helpers/env.js";

// A Redis of this test's own: the shared one must never be reconfigured.
describe("eviction policy check", () => {
  let lru: EmbeddedRedis;
  const name = uniqueName("policy");
  beforeAll(async () => {
    lru = await startRedisServer(["--maxmemory-policy", "allkeys-lru"]);
  });
  afterAll(async () => {
    await lru.stop();
    await cleanup(name);
  });

  for (const bin of ["worker", "web"]) {
    it(`${bin} refuses to start on allkeys-lru with a readable reason`, async () => {
      const p = spawnNode(`${ROOT}dist/src/bin/${bin}.js`, [], {
        PATH: process.env.PATH,
        REDIS_URL: lru.url,
        DATABASE_URL: TEST_DATABASE_URL,
        DATABASE_SCHEMA: name,
        PORT: "0",
      });
      const { code } = await p.exited;
      expect(code).toBe(1);
      expect(p.stderr()).toContain('maxmemory-policy is "allkeys-lru"');
      expect(p.stderr()).toContain("noeviction");
      expect(p.stderr()).toContain("jobs are lost");
      expect(p.stderr()).not.toMatch(/\n\s+at /);
    });
  }
});
