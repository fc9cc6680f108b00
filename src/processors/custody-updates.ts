import { UnrecoverableError, type Job } from "bullmq";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { WebhookJob } from "../queues/definitions.js";
import { FIREBLOCKS_LIFECYCLE, FIREBLOCKS_TERMINAL } from "../providers/fireblocks-schema.js";
import { parseProviderTime } from "./provider-time.js";
import type { Processor } from "./types.js";

/** Fireblocks' terminal transaction statuses: once reached, nothing changes the status again. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(FIREBLOCKS_TERMINAL);
const TERMINAL_RANK = 1000;

// A status's rank is its place in Fireblocks' lifecycle and only moves up.
const LIFECYCLE: readonly string[] = FIREBLOCKS_LIFECYCLE;

/** Unknown statuses rank 0: recorded for a new transaction, never over a known one. */
export function statusRank(status: string): number {
  if (TERMINAL_STATUSES.has(status)) return TERMINAL_RANK;
  const i = LIFECYCLE.indexOf(status);
  return i < 0 ? 0 : (i + 1) * 10;
}

export interface CustodyEvent {
  id: string;
  status: string;
  subStatus: string | null;
  txHash: string | null;
  eventAt: Date | undefined;
}

const TX_EVENT_V1 = new Set(["TRANSACTION_CREATED", "TRANSACTION_STATUS_UPDATED"]);

/**
 * A Fireblocks transaction webhook, v1 (`{type, timestamp, data}`) or v2 (`{eventType,
 * createdAt, data}`). Undefined for events that are not about a transaction's status.
 */
export function parseFireblocksEvent(payload: Record<string, unknown>): CustodyEvent | undefined {
  const v1Type = typeof payload.type === "string" ? payload.type : undefined;
  const v2Type = typeof payload.eventType === "string" ? payload.eventType : undefined;
  const isTx = (v1Type && TX_EVENT_V1.has(v1Type)) || (v2Type && /^transaction\./.test(v2Type));
  if (!isTx) return undefined;
  const data = payload.data as Record<string, unknown> | undefined;
  const id = typeof data?.id === "string" ? data.id : undefined;
  const status = typeof data?.status === "string" ? data.status : undefined;
  if (!id || !status) throw new UnrecoverableError("invalid Fireblocks transaction event: data.id and data.status are required");
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  return {
    id,
    status,
    subStatus: text(data!.subStatus),
    txHash: text(data!.txHash),
    eventAt: parseProviderTime(payload.timestamp ?? payload.createdAt),
  };
}

export type CustodyOutcome = "created" | "advanced" | "stale" | "ignored";

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
      .values({ id: e.id, status: e.status, status_rank: rank, sub_status: e.subStatus, tx_hash: e.txHash, last_event_at: e.eventAt ?? null, finished_at: finished })
      .onConflict((oc) => oc.column("id").doNothing())
      .returning("id")
      .executeTakeFirst();
    if (inserted) return "created";
    const current = await trx.selectFrom("custody_transactions").selectAll().where("id", "=", e.id).forUpdate().executeTakeFirstOrThrow();
    const forward = current.status_rank < TERMINAL_RANK && rank > current.status_rank;
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

export function custodyProcessor(deps: { db: Kysely<Database> }): Processor<WebhookJob> {
  return async (job: Job<WebhookJob>, log) => {
    const event = parseFireblocksEvent(job.data.payload);
    if (!event) return { outcome: "ignored" as CustodyOutcome };
    const outcome = await applyCustodyEvent(deps.db, event);
    log.info({ custodyTxId: event.id, status: event.status, outcome }, "custody event applied");
    return { outcome };
  };
}
