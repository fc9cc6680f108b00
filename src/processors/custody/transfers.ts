import { UnrecoverableError } from "bullmq";
import type { Kysely } from "kysely";
import { z } from "zod";
import { createTransactionOnce, type FireblocksApi, type FireblocksPeer } from "../../clients/fireblocks-api.js";
import type { Database } from "../../db/schema.js";
import { circuitCall } from "../../queues/provider-call.js";
import { DAY_SECONDS, defineQueue, type Processor } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";
import { applyCustodyEvent } from "./fireblocks.js";

/** Create the Fireblocks transaction of one requested custody transfer (`custody-transfer-<id>`). */
export const custodyTransferJobSchema = z.object({ transferId: z.string().min(1) });
export type CustodyTransferJob = z.output<typeof custodyTransferJobSchema>;

export const custodyTransferJobId = (transferId: string) => `custody-transfer-${transferId}`;

export async function enqueueCustodyTransfer(queues: QueueSet, transferId: string): Promise<void> {
  await queues.queue(custodyTransfersQueue.name).add("transfer", { transferId } satisfies CustodyTransferJob, { jobId: custodyTransferJobId(transferId) });
}

/**
 * Create the transfer's Fireblocks transaction exactly once: its externalTxId is our transfer
 * id, which Fireblocks never accepts twice; a retry (after a lost answer or a crash before our
 * write) meets that refusal and looks the transaction up by external id instead
 * (createTransactionOnce). The link is written only into an empty slot, and the transaction's
 * first status is recorded where the webhooks then move it (custody_transactions; applying it
 * is monotonic, so a webhook that came first is not undone).
 */
export const custodyTransferProcessor =
  (deps: { db: Kysely<Database>; fireblocks?: FireblocksApi }): Processor<CustodyTransferJob> =>
  async ({ transferId }, job, log, token) => {
    const api = deps.fireblocks;
    // Not configured in this deployment: a retry cannot fix that; replay the dead letter once it is.
    if (!api) throw new UnrecoverableError("the Fireblocks API is not configured (FIREBLOCKS_API_URL, FIREBLOCKS_API_KEY, FIREBLOCKS_API_SECRET_KEY)");
    const t = await deps.db.selectFrom("custody_transfers").selectAll().where("id", "=", transferId).executeTakeFirst();
    if (!t) throw new UnrecoverableError(`no custody transfer ${transferId}`);
    if (t.fireblocks_tx_id) return { outcome: "exists", transferId, fireblocksTxId: t.fireblocks_tx_id };
    const created = await circuitCall(
      () =>
        createTransactionOnce(api, {
          operation: "TRANSFER",
          externalTxId: t.id,
          assetId: t.asset_id,
          amount: t.amount,
          source: { type: "VAULT_ACCOUNT", id: t.vault_id },
          destination: t.destination as unknown as FireblocksPeer,
          note: `hookrail custody transfer ${t.id}`,
        }),
      api,
      job,
      token,
    );
    await applyCustodyEvent(deps.db, { id: created.id, status: created.status, subStatus: null, txHash: null, eventAt: undefined });
    await deps.db
      .updateTable("custody_transfers")
      .set({ fireblocks_tx_id: created.id, submitted_at: new Date() })
      .where("id", "=", transferId)
      .where("fireblocks_tx_id", "is", null)
      .execute();
    log.info({ transferId, fireblocksTxId: created.id, existing: created.existing }, "custody transfer submitted to Fireblocks");
    return { outcome: created.existing ? "found" : "created", transferId, fireblocksTxId: created.id };
  };

/** `custody-transfers`: transfers out of custody requested through the admin API. */
export const custodyTransfersQueue = defineQueue({
  name: "custody-transfers",
  schema: custodyTransferJobSchema,
  attempts: 8,
  backoffMs: 2_000,
  keepCompletedSeconds: 30 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  processor: (deps: WorkerDeps) => custodyTransferProcessor({ db: deps.db, ...(deps.fireblocks ? { fireblocks: deps.fireblocks } : {}) }),
});
