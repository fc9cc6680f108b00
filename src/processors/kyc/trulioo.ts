import type { Processor } from "../../queues/queue-module.js";
import type { TruliooEvent, TruliooJob } from "../../server/webhooks/providers/trulioo.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import { recordOutcome, type KycDeps, type KycOutcome } from "./apply-outcome.js";

/** Trulioo times are epoch seconds; parseProviderTime reads bare numbers as milliseconds. */
const fromSeconds = (v: number | string | null | undefined): Date | undefined => {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? new Date(n * 1000) : parseProviderTime(v);
};

/**
 * A completed service (SERVICE_SUBMIT, serviceStatus COMPLETED) is the verification result:
 * `match: true` -> approved. `match: false` -> in review: the data did not verify against
 * Trulioo's sources, which Trulioo reports as a result to follow up through the transaction id
 * (a typo and a false identity look the same here), not as a rejection. Every other event
 * (flow and step progress, services not completed) carries no verdict.
 */
export function mapTrulioo(p: TruliooEvent, receivedAt: string): KycOutcome | undefined {
  const data = p.serviceData;
  if (p.event.type !== "SERVICE_SUBMIT" || data?.serviceStatus !== "COMPLETED" || typeof data.match !== "boolean") return undefined;
  // Our id, where the flow carries it: the documented external identifier, else the flow's user.
  const investorId = p.clientId || p.userId || p.event.user;
  if (!investorId) return undefined;
  const transactionId = data.transactionInfo?.transactionId ?? undefined;
  const at = fromSeconds(p.event.ts) ?? fromSeconds(data.timestamp) ?? new Date(receivedAt);
  return {
    source: "trulioo",
    eventKey: `trulioo:${transactionId ?? p.id}:${p.serviceType ?? ""}:${data.match}:${at.toISOString()}`,
    eventType: `${p.event.type}${p.serviceType ? `/${p.serviceType}` : ""}`,
    investor: { by: "id", value: investorId },
    status: data.match ? "approved" : "in_review",
    eventAt: at,
    details: { match: data.match, ...(transactionId ? { transactionId } : {}), ...(p.serviceType ? { serviceType: p.serviceType } : {}) },
  };
}

/** `kyc-trulioo`: a Workflow Studio event applied as a KYC outcome (the handshake is never enqueued). */
export const truliooProcessor =
  (deps: KycDeps): Processor<TruliooJob> =>
  (data, job, log) => {
    const p = data.payload;
    if (p.type !== "EVENT_CALLBACK") return Promise.resolve({ outcome: "ignored", type: p.type });
    return recordOutcome(deps, mapTrulioo(p, data.receivedAt), job.id, log, { eventType: p.event.type, serviceStatus: p.serviceData?.serviceStatus });
  };
