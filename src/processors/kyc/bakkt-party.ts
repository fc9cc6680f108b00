import type { KycStatus } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import type { BakktPayload, PartyEvent } from "../../server/webhooks/providers/bakkt.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import { recordOutcome, type KycDeps, type KycOutcome } from "./apply-outcome.js";

const REJECTED_REASONS = new Set(["RISK_KYC", "RISK_OFAC"]);
const RESTRICTED_STATUSES = new Set(["SUSPENDED", "LIQUIDATED", "CLOSED"]);

type PartyPayload = Extract<BakktPayload, { webhookType: "PARTY_EVENT" }>;

/**
 * Broker PARTY_EVENT. The reason code says why the party is in its state, so it decides first:
 * ENROLLMENT -> approved; RISK_KYC, RISK_OFAC -> rejected (even when SUSPENDED);
 * DOCUMENT_VERIFICATION -> documents requested (URL and expiry kept); PENDING_REVIEW -> in
 * review. Otherwise the party status: ACTIVE -> approved; SUSPENDED, LIQUIDATED, CLOSED ->
 * restricted; UNDER_REVIEW -> in review. Anything else carries no verdict (undefined).
 */
export function mapPartyEvent(p: PartyPayload & PartyEvent, receivedAt: string): KycOutcome | undefined {
  const { partnerPartyRef: partyRef, partyStatus, reasonCode: reason } = p;
  let status: KycStatus | undefined;
  if (reason === "ENROLLMENT") status = "approved";
  else if (reason && REJECTED_REASONS.has(reason)) status = "rejected";
  else if (reason === "DOCUMENT_VERIFICATION") status = "documents_requested";
  else if (reason === "PENDING_REVIEW") status = "in_review";
  else if (partyStatus === "ACTIVE") status = "approved";
  else if (RESTRICTED_STATUSES.has(partyStatus)) status = "restricted";
  else if (partyStatus === "UNDER_REVIEW") status = "in_review";
  if (!status) return undefined;
  const at = parseProviderTime(p.created) ?? new Date(receivedAt);
  return {
    source: "bakkt",
    eventKey: `bakkt:${partyRef}:${p.requestId}:${partyStatus}:${reason ?? ""}:${p.created ?? at.toISOString()}`,
    eventType: "PARTY_EVENT",
    investor: { by: "bakkt_party_ref", value: partyRef },
    status,
    eventAt: at,
    details: {
      partyStatus,
      ...(reason ? { reasonCode: reason } : {}),
      ...(status === "documents_requested" && p.verificationURL
        ? { verificationURL: p.verificationURL, verificationURLExpiry: p.verificationURLExpiry ?? null }
        : {}),
    },
  };
}

/** Apply a broker PARTY_EVENT as a KYC outcome. */
export const applyPartyEvent = (deps: KycDeps, p: PartyPayload, receivedAt: string, jobId: string | undefined, log: Logger) =>
  recordOutcome(deps, mapPartyEvent(p, receivedAt), jobId, log, { partyStatus: p.partyStatus, reasonCode: p.reasonCode });
