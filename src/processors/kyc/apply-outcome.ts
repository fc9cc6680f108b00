import { sql, type Kysely } from "kysely";
import type { Database, KycSource, KycStatus } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import type { QueueSet } from "../../queues/queue-set.js";
import { enqueueCustodyVault } from "../custody/vaults.js";
import { enqueueMint } from "../orders/mint.js";

/**
 * One provider's KYC verdict about one investor, mapped to our status. Each provider maps its
 * own events to this (./sumsub.ts, ./bakkt-party.ts, ./onfido.ts, ./trulioo.ts, ./jumio.ts); applyKycOutcome is the one step after.
 */
export interface KycOutcome {
  source: KycSource;
  /** Derived from the event's own content, so a redelivery under any job id is the same event. */
  eventKey: string;
  eventType: string;
  investor: { by: "id" | "bakkt_party_ref"; value: string };
  status: KycStatus;
  /** The provider's time of the event: an older one never overwrites a newer applied one. */
  eventAt: Date;
  details: Record<string, unknown>;
  /**
   * The provider's verdict independent of the channel that reported it (webhook or a poll of
   * its API), e.g. `sumsub:<applicant>:approved`. An outcome whose verdict is the one already in
   * force on the investor is a restatement: recorded, never applied again. That is what makes a
   * status learned by polling and the same status arriving later by webhook apply once, though
   * the two carry different event keys and provider times.
   */
  verdictKey?: string;
}

export class UnknownInvestorError extends Error {
  override name = "UnknownInvestorError";
  constructor(ref: string) {
    super(`no investor ${ref} (yet)`);
  }
}

export interface KycDeps {
  db: Kysely<Database>;
  queues: QueueSet;
}

export interface KycResult {
  investorId: string;
  applied: boolean;
  duplicate: boolean;
  status: KycStatus;
  released: string[];
}

/**
 * Record the outcome in the investor's history and apply it unless a newer event was already
 * applied. The investor row is locked, so events for one investor apply one at a time. An
 * approval moves the investor's `awaiting_kyc` orders to `minting` in the same transaction;
 * their mint jobs are queued after commit (and re-queued by any redelivery).
 */
export async function applyKycOutcome(deps: KycDeps, o: KycOutcome, jobId: string | undefined): Promise<KycResult> {
  const result = await deps.db.transaction().execute(async (trx) => {
    let q = trx.selectFrom("investors").select(["id", "kyc_status", "kyc_event_at", "kyc_details"]).forUpdate();
    // The broker names the party by our bakktPartyRef; an investor registered without one may
    // have been enrolled under its own id. A ref match wins over an id match.
    q =
      o.investor.by === "id"
        ? q.where("id", "=", o.investor.value)
        : q
            .where((eb) => eb.or([eb("bakkt_party_ref", "=", o.investor.value), eb("id", "=", o.investor.value)]))
            .orderBy(sql`bakkt_party_ref is not distinct from ${o.investor.value}`, "desc")
            .limit(1);
    const investor = await q.executeTakeFirst();
    if (!investor) throw new UnknownInvestorError(`${o.investor.by === "id" ? "id" : "with bakktPartyRef"} ${o.investor.value}`);
    const newer = !investor.kyc_event_at || o.eventAt.getTime() >= investor.kyc_event_at.getTime();
    const restatement = o.verdictKey !== undefined && investor.kyc_details?.verdictKey === o.verdictKey;
    const details = o.verdictKey ? { ...o.details, verdictKey: o.verdictKey } : o.details;
    const inserted = await trx
      .insertInto("kyc_events")
      .values({
        event_key: o.eventKey,
        investor_id: investor.id,
        source: o.source,
        event_type: o.eventType,
        status: o.status,
        previous_status: investor.kyc_status,
        applied: newer && !restatement,
        event_at: o.eventAt,
        details: JSON.stringify(details),
        job_id: jobId ?? null,
      })
      .onConflict((oc) => oc.column("event_key").doNothing())
      .returning("id")
      .executeTakeFirst();
    if (!inserted) return { investorId: investor.id, applied: false, duplicate: true, status: investor.kyc_status };
    if (restatement) return { investorId: investor.id, applied: false, duplicate: true, status: investor.kyc_status };
    if (!newer) return { investorId: investor.id, applied: false, duplicate: false, status: investor.kyc_status };
    await trx
      .updateTable("investors")
      .set({ kyc_status: o.status, kyc_event_at: o.eventAt, kyc_details: JSON.stringify({ source: o.source, ...details }), updated_at: new Date() })
      .where("id", "=", investor.id)
      .execute();
    if (o.status === "approved") {
      await trx
        .updateTable("orders")
        .set({ status: "minting", updated_at: new Date() })
        .where("investor_id", "=", investor.id)
        .where("status", "=", "awaiting_kyc")
        .execute();
    }
    return { investorId: investor.id, applied: true, duplicate: false, status: o.status };
  });
  const released: string[] = [];
  if (result.status === "approved") {
    const minting = await deps.db
      .selectFrom("orders")
      .select("reference_id")
      .where("investor_id", "=", result.investorId)
      .where("status", "=", "minting")
      .execute();
    for (const { reference_id } of minting) {
      await enqueueMint(deps.queues, reference_id);
      released.push(reference_id);
    }
    // An approved investor gets a custody vault (one job per investor; a no-op without Fireblocks).
    await enqueueCustodyVault(deps.queues, result.investorId);
  }
  return { ...result, released };
}

/** Apply an outcome and log what it did; `undefined` (an event with no verdict) is noted only. */
export async function recordOutcome(
  deps: KycDeps,
  outcome: KycOutcome | undefined,
  jobId: string | undefined,
  log: Logger,
  ignored: Record<string, unknown>,
): Promise<unknown> {
  if (!outcome) return { outcome: "ignored", ...ignored };
  const r = await applyKycOutcome(deps, outcome, jobId);
  log.info(
    { investorId: r.investorId, kycStatus: outcome.status, applied: r.applied, duplicate: r.duplicate, released: r.released.length },
    "KYC outcome recorded",
  );
  return r;
}
