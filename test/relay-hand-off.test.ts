import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrokerEventJob } from "../src/relay/hand-off.js";
import { handOff } from "../src/relay/hand-off.js";
import { brokerJobId, parseBody, type Envelope } from "../src/relay/envelope.js";
import { createSequencer } from "../src/relay/sequencer.js";
import { createQueueSet, type QueueSet } from "../src/queues/registry.js";
import { createRedis, waitReady } from "../src/redis/connection.js";
import { cleanup, TEST_REDIS_URL, uniqueName } from "./helpers/env.js";
import { envelope } from "./helpers/relay.js";

const name = uniqueName("handoff");

/** The hand-off on real Redis: numbering, and which copies become BullMQ adds. */
describe("relay hand-off", () => {
  let redis: Redis;
  let queues: QueueSet;

  beforeAll(async () => {
    redis = createRedis(TEST_REDIS_URL, "producer");
    await waitReady(redis);
    queues = createQueueSet(redis, name);
  });
  afterAll(async () => {
    await queues.close();
    redis.disconnect();
    await cleanup(name);
  });

  const parsed = (e: ReturnType<typeof envelope>): Envelope => {
    const r = parseBody(JSON.stringify(e));
    if (!r.ok) throw new Error(r.reason);
    return r.envelope;
  };
  /** BullMQ writes a "duplicated" event each time an add names an id that exists. */
  const duplicateAdds = async () => {
    const events = await redis.xrange(queues.queue("broker-events").toKey("events"), "-", "+");
    return events.filter(([, fields]) => fields[1] === "duplicated").length;
  };

  it("numbers a group once, skips copies whose job is in Redis, and re-adds a claimed message whose job is missing", async () => {
    const jobs = queues.queue("broker-events");
    const sequencer = createSequencer(redis, name);
    const batch = ["a", "b", "c"].map((ref) => parsed(envelope("group-1", { transferId: `T-${ref}`, status: "PENDING" })));

    const first = await handOff(jobs, sequencer, batch, { queue: "primary", receivedAt: new Date() });
    expect(first).toEqual({ jobIds: batch.map((e) => brokerJobId(e.message_id)), duplicates: 0 });
    const data = async (e: Envelope) => (await jobs.getJob(brokerJobId(e.message_id)))?.data as BrokerEventJob | undefined;
    expect(await Promise.all(batch.map(async (e) => (await data(e))?.sequence))).toEqual([1, 2, 3]);

    // The DR twins: same ids back, counted as duplicates, and no add is even attempted.
    const twin = await handOff(jobs, sequencer, batch, { queue: "dr", receivedAt: new Date() });
    expect(twin).toEqual({ jobIds: first.jobIds, duplicates: 3 });
    expect(await duplicateAdds()).toBe(0);
    expect(await jobs.getJobCountByTypes("waiting")).toBe(3);
    expect((await data(batch[1]!))?.sourceQueue).toBe("primary");

    // A relay that died between the claim and the add left b claimed without a job: a
    // redelivery adds it again, under the number it was given the first time.
    await (await jobs.getJob(brokerJobId(batch[1]!.message_id)))!.remove();
    const redelivered = await handOff(jobs, sequencer, batch, { queue: "primary", receivedAt: new Date() });
    expect(redelivered.duplicates).toBe(3);
    expect(await jobs.getJobCountByTypes("waiting")).toBe(3);
    expect(await data(batch[1]!)).toMatchObject({ sequence: 2, sourceQueue: "primary" });
    expect(await duplicateAdds()).toBe(0);

    // The group's next message gets the next number.
    const later = parsed(envelope("group-1", { transferId: "T-d", status: "PENDING" }));
    await handOff(jobs, sequencer, [later], { queue: "dr", receivedAt: new Date() });
    expect((await data(later))?.sequence).toBe(4);
  });
});
