import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedisServer, type EmbeddedRedis } from "../src/dev/embedded-redis.js";
import { cleanup, testEnv, uniqueName } from "./helpers/env.js";
import { ROOT, spawnNode } from "./helpers/process.js";

describe("REDIS_MIN_REPLICA_ACKS above the replicas connected at start", () => {
  const name = uniqueName("replica_start");
  let redis: EmbeddedRedis;
  beforeAll(async () => {
    // A Redis of its own, so the count of connected replicas is known (none).
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
    await cleanup(name);
  });

  it("the web process warns and starts (a replica may be resyncing), and stops cleanly", async () => {
    const web = spawnNode(
      `${ROOT}dist/src/bin/web.js`,
      [],
      testEnv(name, { REDIS_URL: redis.url, PORT: String(await freePort()), REDIS_MIN_REPLICA_ACKS: "1" }),
    );
    await web.waitForOutput(/web listening/, 30_000);
    const warning = web
      .stdout()
      .split("\n")
      .find((l) => l.includes("REDIS_MIN_REPLICA_ACKS is more than the replicas connected"));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, wanted: 1, connected: 0 });
    web.child.kill("SIGTERM");
    expect((await web.exited).code).toBe(0);
  });
});
