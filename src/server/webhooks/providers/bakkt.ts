import { z } from "zod";
import { eventJobId } from "../../../queues/job-id.js";
import { amountField, currencyCode, idString } from "../../../validation/fields.js";
import { allowlistSetting, defineProvider, secretsVerifier, webhookQueue, type WebhookJob } from "../provider.js";
import { StandardWebhooksVerifier } from "../verify/standard-webhooks.js";

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
    if (!p.webhookType && !p.partnerWebhookType)
      ctx.addIssue({ code: "custom", path: ["webhookType"], message: "webhookType or partnerWebhookType is required" });
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

const linkInfo = z
  .looseObject({
    bankName: z.string().optional(),
    accountLastFour: z.string().optional(),
    accountLinkStatus: z.string().min(1).optional(),
    linkStatus: z.string().min(1).optional(),
    accountType: z.string().optional(),
    verificationType: oneOf(VERIFICATION_TYPES).optional(),
  })
  .transform((l, ctx) => {
    const status = l.accountLinkStatus ?? l.linkStatus;
    if (!status) {
      ctx.addIssue({ code: "custom", path: ["accountLinkStatus"], message: "required (accountLinkStatus or linkStatus)" });
      return z.NEVER;
    }
    return { ...l, accountLinkStatus: status };
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

type Envelope = z.output<typeof envelope>;
export type PartyEvent = z.output<typeof partyEvent>;
export type LinkInfo = z.output<typeof linkInfo>;
export type FiatEvent = z.output<typeof fiatEvent>;

/**
 * What the reader makes of a broker webhook: the envelope as sent, `webhookType` always set,
 * and the event's own fields in one place whichever shape was sent: a party's at the top
 * level (as the examples print them), a bank link's in `accountLinkingInfo` and a fiat
 * event's in `fiatEvent` (nested in the examples, flat in the field list of the same guide).
 */
export type BakktPayload = Envelope &
  (
    | ({ webhookType: "PARTY_EVENT" } & PartyEvent)
    | { webhookType: "BANK_ACCOUNT_LINK"; accountLinkingInfo: LinkInfo }
    | { webhookType: "FIAT_EVENT"; fiatEvent: FiatEvent }
  );

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parse the event's part (nested under `key` when sent that way, else the body itself), issues under its path. */
function part<S extends z.ZodType>(schema: S, p: Envelope, key: string, ctx: z.RefinementCtx): z.output<S> | undefined {
  const nested = isObject(p[key]);
  const r = schema.safeParse(nested ? p[key] : p);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: "custom", path: nested ? [key, ...issue.path] : issue.path, message: issue.message });
  return undefined;
}

/** Bakkt account and fiat webhooks; amounts become exact decimal strings. */
export const bakktPayload = envelope.transform((p, ctx): BakktPayload => {
  const type = (p.webhookType ?? p.partnerWebhookType)!;
  switch (type) {
    case "PARTY_EVENT": {
      const party = partyEvent.safeParse(p);
      if (!party.success) {
        for (const issue of party.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
        return z.NEVER;
      }
      return { ...p, ...party.data, webhookType: type };
    }
    case "BANK_ACCOUNT_LINK": {
      const link = part(linkInfo, p, "accountLinkingInfo", ctx);
      return link ? { ...p, webhookType: type, accountLinkingInfo: link } : z.NEVER;
    }
    case "FIAT_EVENT": {
      const fiat = part(fiatEvent, p, "fiatEvent", ctx);
      return fiat ? { ...p, webhookType: type, fiatEvent: fiat } : z.NEVER;
    }
  }
});

export const bakktQueue = webhookQueue("bakkt-webhooks", bakktPayload);
export type BakktJob = WebhookJob<BakktPayload>;

/** The state an event reports, part of its identity (see below). */
function reportedState(p: BakktPayload): string[] {
  switch (p.webhookType) {
    case "PARTY_EVENT":
      return [p.partyStatus, p.reasonCode ?? ""];
    case "BANK_ACCOUNT_LINK":
      return [p.accountLinkingInfo.accountLinkStatus, p.accountLinkingInfo.verificationType ?? ""];
    case "FIAT_EVENT":
      return [p.fiatEvent.transactionId, p.fiatEvent.transactionStatus];
  }
}

/**
 * The broker's account and fiat webhooks, signed with Standard Webhooks. Identity: requestId
 * alone is not enough, since the broker's own examples reuse one requestId for an account's
 * successive status changes (ACTIVE, then INACTIVE/RISK_KYC, ...). The job id is requestId +
 * type + the state the event reports, which a redelivery repeats exactly.
 */
export const bakktProvider = defineProvider({
  name: "bakkt",
  path: "/bakkt",
  reader: bakktPayload,
  identify: (p) => ({ eventId: p.requestId, jobId: eventJobId("bakkt", [p.requestId, p.webhookType, ...reportedState(p)]), jobName: p.webhookType }),
  queue: bakktQueue,
  verifier: secretsVerifier("BAKKT_WEBHOOK_SECRETS", (secrets) => new StandardWebhooksVerifier(secrets)),
  allowlist: allowlistSetting("BAKKT_IP_ALLOWLIST"),
});
