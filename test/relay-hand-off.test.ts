import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandOff } from "../src/relay/hand-off.js";
import { brokerJobId, type BrokerEventJobData as BrokerEventJob } from "../src/relay/job.js";
import { parseBody, type Envelope } from "../src/relay/envelope.js";
import { createSequencer, type Sequencer } from "../src/relay/sequencer.js";
import type { QueueSet } from "../src/queues/queue-set.js";
import { cleanup, uniqueName } from "./helpers/env.js";
import { envelope } from "./helpers/relay.js";
import { openTestQueues } from "./helpers/stack.js";

const name = uniqueName("handoff");

/** The hand-off on real Redis: numbering, and which copies become BullMQ adds. */
describe("relay hand-off", () => {
  let redis: Redis;
  let queues: QueueSet;

  beforeAll(async () => {
    ({ redis, queues } = await openTestQueues(name));
  });
  afterAll(async () => {
    await queues.close();
    redis.disconnect();
    await cleanup(name);
  });

  const jobs = () => queues.queue("broker-events");
  const parsed = (e: ReturnType<typeof envelope>): Envelope => {
    const r = parseBody(JSON.stringify(e));
    if (!r.ok) throw new Error(r.reason);
    return r.envelope;
  };
  const batchOf = (group: string, refs: string[]) => refs.map((ref) => parsed(envelope(group, { transferId: `T-${ref}`, status: "PENDING" })));
  const data = async (e: Envelope) => (await jobs().getJob(brokerJobId(e.message_id)))?.data as BrokerEventJob | undefined;
  const sequences = (batch: Envelope[]) => Promise.all(batch.map(async (e) => (await data(e))?.sequence));
  /** BullMQ writes a "duplicated" event each time an add names an id that exists. */
  const duplicateAdds = async () => {
    const events = await redis.xrange(jobs().toKey("events"), "-", "+");
    return events.filter(([, fields]) => fields[1] === "duplicated").length;
  };
  const source = (queue: string) => ({ queue, receivedAt: new Date() });

  it("numbers a group once, skips copies whose job is in Redis, and re-adds a claimed message whose job is missing", async () => {
    const handOff = createHandOff(jobs(), createSequencer(redis, name));
    const batch = batchOf("group-1", ["a", "b", "c"]);
    const adds0 = await duplicateAdds();

    const first = await handOff(batch, source("primary"));
    expect(first).toEqual({ jobIds: batch.map((e) => brokerJobId(e.message_id)), duplicates: 0 });
    expect(await sequences(batch)).toEqual([1, 2, 3]);

    // The DR twins, after the primary's hand-off: same ids back, counted as duplicates, no add attempted.
    const twin = await handOff(batch, source("dr"));
    expect(twin).toEqual({ jobIds: first.jobIds, duplicates: 3 });
    expect(await duplicateAdds()).toBe(adds0);
    expect((await data(batch[1]!))?.sourceQueue).toBe("primary");

    // A relay that died between the claim and the add left b claimed without a job: a
    // redelivery adds it again, under the number it was given the first time.
    await (await jobs().getJob(brokerJobId(batch[1]!.message_id)))!.remove();
    const redelivered = await handOff(batch, source("primary"));
    expect(redelivered.duplicates).toBe(3);
    expect(await data(batch[1]!)).toMatchObject({ sequence: 2, sourceQueue: "primary" });
    expect(await duplicateAdds()).toBe(adds0);

    // The group's next message gets the next number.
    const [later] = batchOf("group-1", ["d"]);
    await handOff([later!], source("dr"));
    expect((await data(later!))?.sequence).toBe(4);
  });

  it("twins handed off at the same time: the second waits for the first and adds nothing", async () => {
    const handOff = createHandOff(jobs(), createSequencer(redis, name));
    const primary = batchOf("group-2", ["a", "b", "c"]);
    // The DR batch is ahead by one message the primary has not delivered yet.
    const dr = [...primary, ...batchOf("group-2", ["d"])];
    const adds0 = await duplicateAdds();

    const [p, d] = await Promise.all([handOff(primary, source("primary")), handOff(dr, source("dr"))]);
    expect(p.duplicates).toBe(0);
    expect(d).toEqual({ jobIds: dr.map((e) => brokerJobId(e.message_id)), duplicates: 3 });
    expect(await sequences(dr)).toEqual([1, 2, 3, 4]);
    expect((await Promise.all(primary.map(data))).map((j) => j?.sourceQueue)).toEqual(["primary", "primary", "primary"]);
    expect(await duplicateAdds()).toBe(adds0);
  });

  it("when the twin's hand-off fails, the waiting copy is numbered and added itself, before the later messages of its batch", async () => {
    const real = createSequencer(redis, name);
    let failNext = true;
    const flaky: Sequencer = {
      claim: async (messages) => {
        if (failNext) {
          failNext = false;
          await new Promise((r) => setTimeout(r, 50)); // long enough for the twin batch to start waiting
          throw new Error("Redis went away");
        }
        return real.claim(messages);
      },
    };
    const handOff = createHandOff(jobs(), flaky);
    const [m1, m2] = batchOf("group-3", ["1", "2"]);

    const first = handOff([m1!], source("primary"));
    const second = handOff([m1!, m2!], source("dr"));
    await expect(first).rejects.toThrow("Redis went away");
    expect(await second).toEqual({ jobIds: [m1, m2].map((e) => brokerJobId(e!.message_id)), duplicates: 0 });
    // Without the wait, m2 would have taken number 1 while m1's claim was failing.
    expect(await sequences([m1!, m2!])).toEqual([1, 2]);
    expect((await data(m1!))?.sourceQueue).toBe("dr");
  });
});
