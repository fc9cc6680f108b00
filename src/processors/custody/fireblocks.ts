import type { Kysely } from "kysely";
import type { ChainAccess } from "../../chain/index.js";
import { recordCustodyStatus } from "../../chain/fireblocks-signer.js";
import type { Database } from "../../db/schema.js";
import type { Processor } from "../../queues/queue-module.js";
import { statusRank, TERMINAL_STATUSES } from "../../clients/fireblocks.js";
import type { FireblocksJob, FireblocksPayload } from "../../server/webhooks/providers/fireblocks.js";
import { parseProviderTime } from "../../validation/provider-time.js";

export interface CustodyEvent {
  id: string;
  status: string;
  subStatus: string | null;
  txHash: string | null;
  eventAt: Date | undefined;
}

/** The custody event a Fireblocks transaction webhook (v1 `{type, timestamp, data}`, v2 `{eventType, createdAt, data}`) reports. */
export function custodyEventOf(p: FireblocksPayload): CustodyEvent {
  return {
    id: p.data.id,
    status: p.data.status,
    subStatus: p.data.subStatus || null,
    txHash: p.data.txHash || null,
    eventAt: parseProviderTime(p.timestamp ?? p.createdAt),
  };
}

export type CustodyOutcome = "created" | "advanced" | "stale";

/**
 * Upsert the custody transaction. Its status only moves forward in the lifecycle and a
 * terminal status never changes, so events applied in any order end in the same state. A
 * tx hash learnt from a stale event still fills an empty one.
 */
export async function applyCustodyEvent(db: Kysely<Database>, e: CustodyEvent): Promise<CustodyOutcome> {
  const rank = statusRank(e.status);
  const finished = TERMINAL_STATUSES.has(e.status) ? new Date() : null;
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto("custody_transactions")
      .values({
        id: e.id,
        status: e.status,
        status_rank: rank,
        sub_status: e.subStatus,
        tx_hash: e.txHash,
        last_event_at: e.eventAt ?? null,
        finished_at: finished,
      })
      .onConflict((oc) => oc.column("id").doNothing())
      .returning("id")
      .executeTakeFirst();
    if (inserted) return "created";
    const current = await trx.selectFrom("custody_transactions").selectAll().where("id", "=", e.id).forUpdate().executeTakeFirstOrThrow();
    const forward = !TERMINAL_STATUSES.has(current.status) && rank > current.status_rank;
    await trx
      .updateTable("custody_transactions")
      .set({
        ...(forward ? { status: e.status, status_rank: rank, sub_status: e.subStatus, finished_at: finished } : {}),
        ...(forward && e.eventAt ? { last_event_at: e.eventAt } : {}),
        tx_hash: forward ? (e.txHash ?? current.tx_hash) : (current.tx_hash ?? e.txHash),
        updated_at: new Date(),
      })
      .where("id", "=", e.id)
      .execute();
    return forward ? "advanced" : "stale";
  });
}

/**
 * `custody-fireblocks`: a Fireblocks transaction event moves our copy of the transaction
 * forward. One whose externalTxId is a chain intent's key (SIGNER_BACKEND=fireblocks) also
 * moves that intent's status, which the Fireblocks intent monitor makes final.
 */
export function custodyProcessor(deps: { db: Kysely<Database>; chain?: Pick<ChainAccess, "custody"> | undefined }): Processor<FireblocksJob> {
  const signer = deps.chain?.custody;
  return async ({ payload }, _job, log) => {
    const event = custodyEventOf(payload);
    const outcome = await applyCustodyEvent(deps.db, event);
    const externalTxId = payload.data.externalTxId;
    // Only under SIGNER_BACKEND=fireblocks, and only for our own externalTxIds: every other event skips the intent lookup.
    const intent = externalTxId && signer?.owns(externalTxId) ? await recordCustodyStatus(deps.db, externalTxId, event) : false;
    log.info({ custodyTxId: event.id, status: event.status, outcome, ...(intent ? { intentKey: externalTxId } : {}) }, "custody event applied");
    return { outcome, ...(intent ? { intentKey: externalTxId } : {}) };
  };
}
