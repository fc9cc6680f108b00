import { z } from "zod";
import { amountField, currencyCode, idString, issuesOf, type ReadResult } from "./fields.js";
import { eventJobId } from "./job-id.js";

export const BAKKT_WEBHOOK_TYPES = ["PARTY_EVENT", "BANK_ACCOUNT_LINK", "FIAT_EVENT"] as const;
export const PARTY_STATUSES = ["ACTIVE", "INACTIVE", "SUSPENDED", "LIQUIDATED", "UNDER_REVIEW", "OTP_REQUIRED", "CLOSED", "OPEN"] as const;
export const FIAT_TRANSACT_TYPES = ["DEPOSIT", "WITHDRAW", "DEBIT", "CREDIT", "WITHDRAW_RETURN", "DEPOSIT_RETURN", "ACH_RETURN_FEE"] as const;
export const INSTRUMENT_TYPES = ["ACH", "WIRE", "TPJ", "DEBIT_CARD", "PARTNER_WRITE_OFF", "BAKKT_WRITE_OFF", "DECEASED_PARTY", "MANUAL_ADJUSTMENT"] as const;
export const TRANSACTION_STATUSES = ["PENDING", "COMPLETED", "DECLINED", "CANCELLED"] as const;
export const VERIFICATION_TYPES = ["MANUAL", "INSTANT", "SAME_DAY_MICRODEPOSIT", "AUTOMATED_MICRODEPOSIT"] as const;

const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `expected one of ${values.join(", ")}` });

// The broker's examples name the type `partnerWebhookType`, its field list `webhookType`: both are read.
const envelope = z
  .looseObject({
    requestId: idString(),
    partnerPartyRef: idString(),
    webhookType: oneOf(BAKKT_WEBHOOK_TYPES).optional(),
    partnerWebhookType: oneOf(BAKKT_WEBHOOK_TYPES).optional(),
    created: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (!p.webhookType && !p.partnerWebhookType) ctx.addIssue({ code: "custom", path: ["webhookType"], message: "webhookType or partnerWebhookType is required" });
    else if (p.webhookType && p.partnerWebhookType && p.webhookType !== p.partnerWebhookType) {
      ctx.addIssue({ code: "custom", path: ["webhookType"], message: "webhookType and partnerWebhookType disagree" });
    }
  });

const partyEvent = z.looseObject({
  partyStatus: oneOf(PARTY_STATUSES),
  // The examples use codes beyond the documented list (MAX_ACH_RETURNS): any code is kept.
  reasonCode: z.string().optional(),
  verificationURL: z.string().optional(),
  verificationURLExpiry: z.string().optional(),
});

const linkInfo = z.looseObject({
  bankName: z.string().optional(),
  accountLastFour: z.string().optional(),
  accountLinkStatus: z.string().min(1).optional(),
  linkStatus: z.string().min(1).optional(),
  accountType: z.string().optional(),
  verificationType: oneOf(VERIFICATION_TYPES).optional(),
});

const fiatEvent = z.looseObject({
  amount: amountField(),
  currency: currencyCode(),
  transactionId: idString(),
  partnerTransactionRef: z.string().optional(),
  fiatTransactType: oneOf(FIAT_TRANSACT_TYPES),
  instrumentType: oneOf(INSTRUMENT_TYPES),
  transactionStatus: oneOf(TRANSACTION_STATUSES),
  created: z.string().optional(),
  declineReason: z.looseObject({ type: z.string().optional(), description: z.string().optional() }).optional(),
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const prefixed = (prefix: string, issues: string[]) => issues.map((i) => (prefix ? `${prefix}.${i}` : i));

/**
 * Bakkt account and fiat webhooks. The nested shapes of the examples (`accountLinkingInfo`,
 * `fiatEvent`) are read, and so is the flat field list of the same document. The payload
 * keeps what was sent, with `webhookType` always set and fiat amounts as exact decimal strings.
 *
 * Identity: requestId alone is not enough, since the broker's own examples reuse one requestId
 * for an account's successive status changes (ACTIVE, then INACTIVE/RISK_KYC, ...). The job id
 * is requestId + type + the state the event reports, which a redelivery repeats exactly.
 */
export function readBakkt(json: unknown): ReadResult {
  const env = envelope.safeParse(json);
  if (!env.success) return { ok: false, issues: issuesOf(env.error) };
  const p = env.data;
  const type = (p.webhookType ?? p.partnerWebhookType)!;
  const base = { ...p, webhookType: type };
  switch (type) {
    case "PARTY_EVENT": {
      const r = partyEvent.safeParse(p);
      if (!r.success) return { ok: false, issues: issuesOf(r.error) };
      return done(base, type, [r.data.partyStatus, r.data.reasonCode ?? ""]);
    }
    case "BANK_ACCOUNT_LINK": {
      const nested = isObject(p.accountLinkingInfo);
      const r = linkInfo.safeParse(nested ? p.accountLinkingInfo : p);
      if (!r.success) return { ok: false, issues: prefixed(nested ? "accountLinkingInfo" : "", issuesOf(r.error)) };
      const status = r.data.accountLinkStatus ?? r.data.linkStatus;
      if (!status) return { ok: false, issues: [`${nested ? "accountLinkingInfo.accountLinkStatus" : "linkStatus"}: required`] };
      return done(base, type, [status, r.data.verificationType ?? ""]);
    }
    case "FIAT_EVENT": {
      const nested = isObject(p.fiatEvent);
      const r = fiatEvent.safeParse(nested ? p.fiatEvent : p);
      if (!r.success) return { ok: false, issues: prefixed(nested ? "fiatEvent" : "", issuesOf(r.error)) };
      const payload = nested ? { ...base, fiatEvent: r.data } : { ...base, ...r.data };
      return done(payload, type, [r.data.transactionId, r.data.transactionStatus]);
    }
  }
}

function done(payload: Record<string, unknown> & { requestId: string }, type: string, state: string[]): ReadResult {
  return {
    ok: true,
    event: { eventId: payload.requestId, jobId: eventJobId("bakkt", [payload.requestId, type, ...state]), jobName: type, payload },
  };
}
