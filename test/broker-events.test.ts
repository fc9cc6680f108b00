import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clients } from "../src/processes/clients.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { brokerJobId, type BrokerEventJobData as BrokerEventJob } from "../src/relay/job.js";
import { waitFor } from "./helpers/env.js";
import { nextTimestamp } from "./helpers/relay.js";
import { startStack, type TestStack } from "./helpers/stack.js";

describe("broker-events processor (real BullMQ workers and Postgres)", () => {
  let stack: TestStack;
  let c: Clients;
  beforeAll(async () => {
    stack = await startStack("brokerev", { env: { WORKER_QUEUES: "broker-events" }, worker: true });
    c = stack.c;
  });
  afterAll(() => stack?.close());

  const job = (group: string, sequence: number, eventType: string, payload: Record<string, unknown>, extra: Partial<BrokerEventJob> = {}): BrokerEventJob => ({
    messageId: randomUUID(),
    messageGroupId: group,
    sequence,
    eventType,
    timestamp: nextTimestamp(),
    payload,
    sourceQueue: "primary",
    receivedAt: new Date().toISOString(),
    ...extra,
  });
  const add = async (data: BrokerEventJob, jobId = brokerJobId(data.messageId)) => {
    await c.queues.queue("broker-events").add(data.eventType, data, { jobId });
    return jobId;
  };
  const completed = (jobId: string) =>
    waitFor(async () => (await c.queues.queue("broker-events").getJobState(jobId)) === "completed", 20_000, `${jobId} completed`);
  const event = (messageId: string) => c.dbh.db.selectFrom("broker_events").selectAll().where("message_id", "=", messageId).executeTakeFirstOrThrow();
  const entity = (kind: string, id: string) =>
    c.dbh.db.selectFrom("broker_entities").selectAll().where("kind", "=", kind).where("entity_id", "=", id).executeTakeFirst();
  const counter = async (metric: string, labels: Record<string, string> = {}) =>
    ((await c.metrics.registry.getSingleMetric(metric)?.get())?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))
      .reduce((s, v) => s + v.value, 0);

  it("holds an event that arrives before its predecessor and applies both in sequence order", async () => {
    const first = job("acct-ooo", 1, "transfers.TransferEvent.v1", { transferId: "tr-ooo", status: "PENDING" });
    const second = job("acct-ooo", 2, "transfers.TransferEvent.v1", { transferId: "tr-ooo", status: "COMPLETED" });
    await completed(await add(second));
    expect((await event(second.messageId)).outcome).toBeNull();
    expect(await entity("transfers", "tr-ooo")).toBeUndefined();

    await completed(await add(first));
    const rows = await c.dbh.db.selectFrom("broker_events").selectAll().where("message_group_id", "=", "acct-ooo").orderBy("applied_rank").execute();
    expect(rows.map((r) => [r.message_id, r.outcome])).toEqual([
      [first.messageId, "applied"],
      [second.messageId, "applied"],
    ]);
    const tr = await entity("transfers", "tr-ooo");
    expect(tr).toEqual(expect.objectContaining({ status: "COMPLETED", last_message_id: second.messageId, applied_count: 2 }));
    expect(tr!.state).toEqual({ transferId: "tr-ooo", status: "COMPLETED" });
    const group = await c.dbh.db.selectFrom("broker_groups").selectAll().where("message_group_id", "=", "acct-ooo").executeTakeFirstOrThrow();
    expect(group.next_sequence).toBe("3");
  });

  it("drains a backlog longer than one step (100 events) in order once its gap is filled", async () => {
    const group = "acct-backlog";
    const events = Array.from({ length: 130 }, (_, i) =>
      job(group, i + 1, "transfers.TransferEvent.v1", { transferId: "tr-backlog", status: `STEP_${i + 1}` }),
    );
    await Promise.all(events.slice(1).map(async (e) => completed(await add(e))));
    expect(await entity("transfers", "tr-backlog")).toBeUndefined();
    await completed(await add(events[0]!));
    const rows = await c.dbh.db
      .selectFrom("broker_events")
      .select(["sequence", "outcome"])
      .where("message_group_id", "=", group)
      .orderBy("applied_rank")
      .execute();
    expect(rows.map((r) => Number(r.sequence))).toEqual(events.map((_, i) => i + 1));
    expect(rows.every((r) => r.outcome === "applied")).toBe(true);
    expect(await entity("transfers", "tr-backlog")).toEqual(expect.objectContaining({ status: "STEP_130", applied_count: 130 }));
    const g = await c.dbh.db.selectFrom("broker_groups").selectAll().where("message_group_id", "=", group).executeTakeFirstOrThrow();
    expect(g.next_sequence).toBe("131");
  });

  it("a redelivered message_id (even under a new job id) changes nothing", async () => {
    const ev = job("acct-dup", 1, "orders.OrderEvent.v1", { orderId: "ord-dup", status: "FILLED" });
    await completed(await add(ev));
    const before = await counter("hookrail_broker_events_duplicates_total");
    await completed(await add(ev, `${brokerJobId(ev.messageId)}-again`));
    expect((await counter("hookrail_broker_events_duplicates_total")) - before).toBe(1);
    expect((await entity("orders", "ord-dup"))!.applied_count).toBe(1);
    expect(await c.dbh.db.selectFrom("broker_events").select("message_id").where("message_group_id", "=", "acct-dup").execute()).toHaveLength(1);
  });

  it("stores and counts unknown event types without failing, and the group moves on", async () => {
    const before = await counter("hookrail_broker_events_total", { outcome: "unknown_type" });
    const unknown = job("acct-unk", 1, "accounts.AccountEvent.v3", { accountId: "a-1" });
    const after = job("acct-unk", 2, "orders.OrderEvent.v1", { orderId: "ord-unk", status: "REJECTED" });
    await completed(await add(unknown));
    await completed(await add(after));
    expect(await event(unknown.messageId)).toEqual(
      expect.objectContaining({
        outcome: "unknown_type",
        event_domain: "accounts",
        event_schema: "AccountEvent",
        event_version: "v3",
        payload: { accountId: "a-1" },
      }),
    );
    expect((await event(after.messageId)).outcome).toBe("applied");
    expect((await counter("hookrail_broker_events_total", { outcome: "unknown_type", event_type: "accounts.AccountEvent.v3" })) - before).toBe(1);
  });

  it("applies one of several schema versions of the same event", async () => {
    const timestamp = nextTimestamp();
    const v1 = job("acct-ver", 1, "allocations.AllocationEvent.v1", { allocationId: "al-1", status: "COMPLETE" }, { timestamp });
    const v2 = job("acct-ver", 2, "allocations.AllocationEvent.v2", { allocationId: "al-1", status: "COMPLETE", fee: "0.10" }, { timestamp });
    await completed(await add(v1));
    await completed(await add(v2));
    expect((await event(v1.messageId)).outcome).toBe("applied");
    expect(await event(v2.messageId)).toEqual(expect.objectContaining({ outcome: "duplicate_version", duplicate_of: v1.messageId }));
    expect((await entity("allocations", "al-1"))!.applied_count).toBe(1);
  });

  it("keeps the state of every entity kind the broker names, keyed by the id in its payload", async () => {
    const cases: [string, Record<string, unknown>, string, string][] = [
      ["orders.OrderEvent.v1", { orderId: "o-9", status: "IN_PROGRESS" }, "orders", "o-9"],
      ["transfers.WithdrawalEvent.v1", { transferId: "t-9", status: "ACCEPTED" }, "transfers", "t-9"],
      ["allocation.SingleAllocation.v1", { allocationId: "a-9", status: "IN_PROGRESS" }, "allocations", "a-9"],
      ["gifting.GiftEvent.v1", { giftId: "g-9", status: "SUCCESSFUL" }, "gifting", "g-9"],
      ["batch.BatchEvent.v1", { batchId: "b-9", status: "OPEN" }, "batches", "b-9"],
      ["currency_batch.CurrencyBatchEvent.v1", { currencyBatchId: "cb-9", status: "CLOSED" }, "currency_batches", "cb-9"],
      ["manual-adjustment.ManualAdjustmentEvent.v1", { adjustmentId: "ma-9", status: "COMPLETED", amount: "12.34" }, "manual_adjustments", "ma-9"],
    ];
    let seq = 0;
    for (const [type, payload] of cases) await completed(await add(job("acct-kinds", ++seq, type, payload)));
    for (const [, payload, kind, id] of cases) {
      const e = await entity(kind, id);
      expect(e?.state).toEqual(payload);
      expect(e?.status).toBe(payload.status);
    }
    const noId = job("acct-kinds", ++seq, "orders.OrderEvent.v1", { status: "FILLED" });
    await completed(await add(noId));
    expect((await event(noId.messageId)).outcome).toBe("no_entity_id");
  });

  it("never lets an older event overwrite a newer state arriving through another group", async () => {
    const older = nextTimestamp();
    const newer = nextTimestamp();
    await completed(await add(job("grp-a", 1, "orders.OrderEvent.v1", { orderId: "o-stale", status: "FILLED" }, { timestamp: newer })));
    const late = job("grp-b", 1, "orders.OrderEvent.v1", { orderId: "o-stale", status: "IN_PROGRESS" }, { timestamp: older });
    await completed(await add(late));
    expect((await event(late.messageId)).outcome).toBe("stale");
    expect((await entity("orders", "o-stale"))!.status).toBe("FILLED");
  });

  it("dead-letters a message whose place in its group is already taken (the relay's counter went back)", async () => {
    await completed(await add(job("acct-reset", 1, "orders.OrderEvent.v1", { orderId: "o-r", status: "FILLED" })));
    const clash = job("acct-reset", 1, "orders.OrderEvent.v1", { orderId: "o-r", status: "REJECTED" });
    const jobId = await add(clash);
    const letter = await waitFor(
      async () => (await listDeadLetters(c.queues.deadLetters("broker-events"))).find((l) => l.jobId === jobId),
      20_000,
      "dead letter",
    );
    expect(letter.unrecoverable).toBe(true);
    expect(letter.failedReason).toMatch(/sequence 1 of group acct-reset is taken/);
    expect((await entity("orders", "o-r"))!.status).toBe("FILLED");
  });
});
