import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DbHandle } from "../src/db/client.js";
import { markBatchPaid } from "../src/processors/dividends/run-distribution.js";
import { cleanup, uniqueName } from "./helpers/env.js";
import { openTestDatabase } from "./helpers/stack.js";

const name = uniqueName("dividend_totals");

describe("a distribution's paid total", () => {
  let dbh: DbHandle;

  beforeAll(async () => {
    dbh = await openTestDatabase(name, 20);
  });
  afterAll(async () => {
    await dbh?.close();
    await cleanup(name);
  });

  // The payout runs several batches at once, so batches are confirmed and marked paid by
  // concurrent transactions; none of them may overwrite another's share of the total.
  it("counts every batch once when batches are marked paid concurrently", async () => {
    const id = "dist-concurrent";
    const batches = 20;
    const perLine = (b: number, i: number) => BigInt(1_000_000 * (b + 1) + i + 1);
    await dbh.db
      .insertInto("distributions")
      .values({
        id,
        token_address: "0x1111111111111111111111111111111111111111",
        record_block: "1",
        payment_date: new Date(),
        amount_per_token: "1",
        payout_token_address: "0x2222222222222222222222222222222222222222",
        status: "paying",
        registrar_idempotency_key: `${id}-notice`,
      })
      .execute();
    const lines = Array.from({ length: batches }, (_, b) =>
      Array.from({ length: 3 }, (_, i) => ({
        distribution_id: id,
        holder: `0x${(b * 3 + i + 1).toString(16).padStart(40, "0")}`,
        balance: "1",
        amount: perLine(b, i).toString(),
        batch_no: b,
        intent_key: `dividend-${id}-batch-${b}`,
      })),
    ).flat();
    await dbh.db.insertInto("distribution_lines").values(lines).execute();
    const expected = lines.reduce((sum, l) => sum + BigInt(l.amount), 0n);

    const hash = (b: number) => `0x${b.toString(16).padStart(64, "0")}` as const;
    // Every pool connection open first, so the batches' transactions really overlap (a new
    // connection takes longer to set up than a whole transaction takes to run).
    await Promise.all(Array.from({ length: batches }, () => sql`select pg_sleep(0.05)`.execute(dbh.db)));
    await Promise.all(Array.from({ length: batches }, (_, b) => markBatchPaid(dbh.db, id, b, hash(b))));
    const totalPaid = async () =>
      BigInt((await dbh.db.selectFrom("distributions").select("total_paid").where("id", "=", id).executeTakeFirstOrThrow()).total_paid);
    expect(await totalPaid()).toBe(expected);
    // A repeated confirmation of a batch (a retried job) adds nothing.
    await markBatchPaid(dbh.db, id, 0, hash(0));
    expect(await totalPaid()).toBe(expected);
    const pending = await dbh.db.selectFrom("distribution_lines").select("holder").where("status", "=", "pending").execute();
    expect(pending).toEqual([]);
  });
});
