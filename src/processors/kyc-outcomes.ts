import { UnrecoverableError, type Job } from "bullmq";
import { sql, type Kysely } from "kysely";
import type { Database, KycStatus } from "../db/schema.js";
import type { Logger } from "../log.js";
import type { WebhookJob } from "../queues/definitions.js";
import type { QueueSet } from "../queues/registry.js";
import { enqueueMint } from "./order-payments.js";
import { parseProviderTime } from "./provider-time.js";
import type { Processor } from "./types.js";

/** One provider's KYC verdict about one investor, mapped to our status. */
export interface KycOutcome {
  source: "sumsub" | "bakkt";
  /** Derived from the event's own content, so a redelivery under any job id is the same event. */
  eventKey: string;
  eventType: string;
  investor: { by: "id" | "bakkt_party_ref"; value: string };
  status: KycStatus;
  /** The provider's time of the event: an older one never overwrites a newer applied one. */
  eventAt: Date;
  details: Record<string, unknown>;
}

export class UnknownInvestorError extends Error {
  override name = "UnknownInvestorError";
  constructor(ref: string) {
    super(`no investor ${ref} (yet); will retry`);
  }
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/**
 * Sumsub: `externalUserId` is our investor id. applicantReviewed GREEN -> approved;
 * RED + FINAL -> rejected, RED + RETRY -> resubmission requested; applicantPending and
 * applicantOnHold -> in review. Other event types carry no verdict (undefined).
 */
export function mapSumsub(payload: Record<string, unknown>, receivedAt: string): KycOutcome | undefined {
  const type = str(payload.type);
  const applicantId = str(payload.applicantId);
  const investorId = str(payload.externalUserId);
  if (!type || !applicantId || !investorId) throw new UnrecoverableError("invalid Sumsub event: type, applicantId and externalUserId are required");
  const review = (payload.reviewResult ?? {}) as Record<string, unknown>;
  const answer = str(review.reviewAnswer);
  // Sumsub puts reviewRejectType inside reviewResult; accept it at the top level too.
  const rejectType = str(review.reviewRejectType) ?? str(payload.reviewRejectType);
  let status: KycStatus;
  if (type === "applicantReviewed") {
    if (answer === "GREEN") status = "approved";
    else if (answer === "RED") status = rejectType === "RETRY" ? "resubmission_requested" : "rejected";
    else throw new UnrecoverableError(`invalid Sumsub applicantReviewed: reviewResult.reviewAnswer ${JSON.stringify(answer)} is not GREEN or RED`);
  } else if (type === "applicantPending" || type === "applicantOnHold") status = "in_review";
  else return undefined;
  const at = parseProviderTime(payload.createdAtMs) ?? parseProviderTime(payload.createdAt) ?? new Date(receivedAt);
  return {
    source: "sumsub",
    eventKey: `sumsub:${applicantId}:${type}:${answer ?? ""}:${rejectType ?? ""}:${at.toISOString()}`,
    eventType: type,
    investor: { by: "id", value: investorId },
    status,
    eventAt: at,
    details: {
      applicantId,
      ...(answer ? { reviewAnswer: answer } : {}),
      ...(rejectType ? { reviewRejectType: rejectType } : {}),
      ...(Array.isArray(review.rejectLabels) ? { rejectLabels: review.rejectLabels } : {}),
    },
  };
}

const REJECTED_REASONS = new Set(["RISK_KYC", "RISK_OFAC"]);
const RESTRICTED_STATUSES = new Set(["SUSPENDED", "LIQUIDATED", "CLOSED"]);

/**
 * Broker PARTY_EVENT. The reason code says why the party is in its state, so it decides first:
 * ENROLLMENT -> approved; RISK_KYC, RISK_OFAC -> rejected (even when SUSPENDED);
 * DOCUMENT_VERIFICATION -> documents requested (URL and expiry kept); PENDING_REVIEW -> in
 * review. Otherwise the party status: ACTIVE -> approved; SUSPENDED, LIQUIDATED, CLOSED ->
 * restricted; UNDER_REVIEW -> in review. Anything else carries no verdict (undefined).
 */
export function mapPartyEvent(payload: Record<string, unknown>, receivedAt: string): KycOutcome | undefined {
  const partyRef = str(payload.partnerPartyRef);
  const partyStatus = str(payload.partyStatus);
  const reason = str(payload.reasonCode);
  if (!partyRef || !partyStatus) throw new UnrecoverableError("invalid PARTY_EVENT: partnerPartyRef and partyStatus are required");
  let status: KycStatus | undefined;
  if (reason === "ENROLLMENT") status = "approved";
  else if (reason && REJECTED_REASONS.has(reason)) status = "rejected";
  else if (reason === "DOCUMENT_VERIFICATION") status = "documents_requested";
  else if (reason === "PENDING_REVIEW") status = "in_review";
  else if (partyStatus === "ACTIVE") status = "approved";
  else if (RESTRICTED_STATUSES.has(partyStatus)) status = "restricted";
  else if (partyStatus === "UNDER_REVIEW") status = "in_review";
  if (!status) return undefined;
  const at = parseProviderTime(payload.created) ?? new Date(receivedAt);
  const url = str(payload.verificationURL);
  const expiry = str(payload.verificationURLExpiry);
  return {
    source: "bakkt",
    eventKey: `bakkt:${partyRef}:${str(payload.requestId) ?? ""}:${partyStatus}:${reason ?? ""}:${str(payload.created) ?? at.toISOString()}`,
    eventType: "PARTY_EVENT",
    investor: { by: "bakkt_party_ref", value: partyRef },
    status,
    eventAt: at,
    details: {
      partyStatus,
      ...(reason ? { reasonCode: reason } : {}),
      ...(status === "documents_requested" && url ? { verificationURL: url, verificationURLExpiry: expiry ?? null } : {}),
    },
  };
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
    let q = trx.selectFrom("investors").select(["id", "kyc_status", "kyc_event_at"]).forUpdate();
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
    const inserted = await trx
      .insertInto("kyc_events")
      .values({
        event_key: o.eventKey,
        investor_id: investor.id,
        source: o.source,
        event_type: o.eventType,
        status: o.status,
        previous_status: investor.kyc_status,
        applied: newer,
        event_at: o.eventAt,
        details: JSON.stringify(o.details),
        job_id: jobId ?? null,
      })
      .onConflict((oc) => oc.column("event_key").doNothing())
      .returning("id")
      .executeTakeFirst();
    if (!inserted) return { investorId: investor.id, applied: false, duplicate: true, status: investor.kyc_status };
    if (!newer) return { investorId: investor.id, applied: false, duplicate: false, status: investor.kyc_status };
    await trx
      .updateTable("investors")
      .set({ kyc_status: o.status, kyc_event_at: o.eventAt, kyc_details: JSON.stringify({ source: o.source, ...o.details }), updated_at: new Date() })
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
    const minting = await deps.db.selectFrom("orders").select("reference_id").where("investor_id", "=", result.investorId).where("status", "=", "minting").execute();
    for (const { reference_id } of minting) {
      await enqueueMint(deps.queues, reference_id);
      released.push(reference_id);
    }
  }
  return { ...result, released };
}

export function sumsubProcessor(deps: KycDeps): Processor<WebhookJob> {
  return async (job: Job<WebhookJob>, log: Logger) => {
    const outcome = mapSumsub(job.data.payload, job.data.receivedAt);
    if (!outcome) return { outcome: "ignored", type: job.data.payload.type };
    const r = await applyKycOutcome(deps, outcome, job.id);
    log.info({ investorId: r.investorId, kycStatus: outcome.status, applied: r.applied, duplicate: r.duplicate, released: r.released.length }, "KYC outcome recorded");
    return r;
  };
}

export async function applyPartyEvent(deps: KycDeps, job: Job<WebhookJob>, log: Logger): Promise<unknown> {
  const outcome = mapPartyEvent(job.data.payload, job.data.receivedAt);
  if (!outcome) return { outcome: "ignored", partyStatus: job.data.payload.partyStatus, reasonCode: job.data.payload.reasonCode };
  const r = await applyKycOutcome(deps, outcome, job.id);
  log.info({ investorId: r.investorId, kycStatus: outcome.status, applied: r.applied, duplicate: r.duplicate, released: r.released.length }, "KYC outcome recorded");
  return r;
}
