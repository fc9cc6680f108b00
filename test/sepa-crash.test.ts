import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DbHandle } from "../src/db/client.js";
import type { Database } from "../src/db/schema.js";
import { startSepaBankStub, type SepaBankStub } from "../src/dev/stubs/sepa-bank.js";
import type { QueueSet } from "../src/queues/queue-set.js";
import { randomWallet } from "./helpers/chain.js";
import { cleanup, testEnv, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import { openTestDatabase, openTestQueues } from "./helpers/stack.js";

const name = uniqueName("sepa_crash");

// A real worker process (dist/src/bin/worker.js) SIGKILLed after the bank took its file and
// before it could record the answer; a second worker process reruns the collection.
describe("a SEPA collection worker killed between the upload and its record", () => {
  let bank: SepaBankStub;
  let dbh: DbHandle;
  let redis: Redis;
  let queues: QueueSet;
  const workers: Spawned[] = [];
  const db = () => dbh.db as unknown as Kysely<Database>;

  const startWorker = async () => {
    const w = spawnNode(
      `${ROOT}dist/src/bin/worker.js`,
      [],
      testEnv(name, {
        WORKER_QUEUES: "sepa-collection",
        SEPA_CREDITOR_ID: "DE98ZZZ09999999999",
        SEPA_CREDITOR_NAME: "Hookrail Fund I",
        SEPA_CREDITOR_IBAN: "DE89370400440532013000",
        SEPA_BANK_API_URL: bank.url,
        SEPA_BANK_API_KEY: bank.apiKey,
        WORKER_LOCK_DURATION_MS: "5000",
      }),
    );
    workers.push(w);
    await w.waitForOutput(/worker started/, 30_000);
    return w;
  };
  const collect = (date: string) => queues.queue("sepa-collection").add("collect", { date }, { jobId: `collect-${date}-${randomUUID()}` });

  beforeAll(async () => {
    bank = await startSepaBankStub();
    dbh = await openTestDatabase(name);
    ({ redis, queues } = await openTestQueues(name));
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await queues?.close();
    redis?.disconnect();
    await dbh?.close();
    await bank?.close();
    await cleanup(name);
  });

  it("the rerun submits the same MsgId and bytes, the bank's duplicate counts as success, and nothing is collected twice", async () => {
    const investorId = `inv-${randomUUID()}`;
    await db()
      .insertInto("investors")
      .values({ id: investorId, wallet: randomWallet(), first_name: "Ada", last_name: "Lovelace", date_of_birth: "1815-12-10", nationality: "GB" })
      .execute();
    await db()
      .insertInto("sepa_mandates")
      .values({
        mandate_ref: "M-CRASH-1",
        investor_id: investorId,
        creditor_id: "DE98ZZZ09999999999",
        iban: "DE75512108001245126199",
        bic: null,
        debtor_name: "Ada Lovelace",
        signature_date: "2026-11-30",
      })
      .execute();
    await db()
      .insertInto("sepa_subscriptions")
      .values({
        id: "sub-crash",
        investor_id: investorId,
        mandate_ref: "M-CRASH-1",
        token_address: randomWallet(),
        amount: "42.00",
        token_amount_per_eur: (10n ** 18n).toString(),
        day_of_month: 15,
        start_period: "2036-05",
      })
      .execute();

    bank.holdUploads = true;
    const a = await startWorker();
    await collect("2036-05-10");
    await waitFor(async () => bank.files.size === 1, 30_000, "the bank to receive the file");
    a.child.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    bank.holdUploads = false;

    const [msgId, received] = [...bank.files.entries()][0]!;
    const stored = await db().selectFrom("sepa_collections").selectAll().executeTakeFirstOrThrow();
    expect(stored).toEqual(expect.objectContaining({ msg_id: msgId, status: "built", submissions: 1, bank_file_id: null, document: received.body }));

    await startWorker();
    const rerun = await collect("2036-05-10");
    const result = await waitFor(
      async () =>
        (await queues.queue("sepa-collection").getJobState(rerun.id!)) === "completed"
          ? (await queues.queue("sepa-collection").getJob(rerun.id!))!.returnvalue
          : undefined,
      30_000,
      "the rerun",
    );
    expect(result.debits).toBe(0);
    expect(result.submitted).toEqual([{ msgId, fileId: received.fileId, duplicate: true }]);
    expect(bank.uploads.map((u) => [u.messageId, u.status])).toEqual([
      [msgId, 0],
      [msgId, 409],
    ]);
    expect(bank.uploads[1]!.body).toBe(bank.uploads[0]!.body);
    expect(bank.files.size).toBe(1);
    expect(await db().selectFrom("sepa_collections").select(["status", "bank_file_id", "submissions"]).execute()).toEqual([
      { status: "submitted", bank_file_id: received.fileId, submissions: 2 },
    ]);
    expect(await db().selectFrom("sepa_debits").select(["period", "status", "sequence_type"]).execute()).toEqual([
      { period: "2036-05", status: "submitted", sequence_type: "FRST" },
    ]);
    expect(await db().selectFrom("orders").select(["reference_id", "status"]).execute()).toEqual([
      { reference_id: "SDD-sub-crash-2036-05", status: "pending" },
    ]);
  });
});
