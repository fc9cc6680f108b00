import { randomUUID } from "node:crypto";
import type { Address } from "viem";
import { randomWallet } from "../helpers/chain.js";
import { fireblocksV1Headers, standardHeaders, sumsubHeaders } from "../helpers/webhook-senders.js";
import type { Secrets } from "./harness.js";

export type DeliveryKind = "bank-payment" | "bakkt-deposit" | "bakkt-party" | "sumsub" | "fireblocks";

/** One provider event: its signed request (sent as is every time) and the effect it must have. */
export interface Delivery {
  kind: DeliveryKind;
  path: string;
  body: string;
  headers: Record<string, string>;
  /** The effect's key: order reference (payments), investor id (KYC), custody tx id. */
  subject: string;
  /** Filled in from the receiver's first 2xx answer. */
  jobId?: string;
}

export interface InvestorSeed {
  id: string;
  wallet: Address;
  bakktPartyRef: string | null;
}

export interface OrderSeed {
  referenceId: string;
  investorId: string;
  wallet: Address;
  tokenAmount: bigint;
  amount: string;
}

/** Investors and orders to insert before the deliveries that refer to them. */
export interface Fixture {
  investors: InvestorSeed[];
  orders: OrderSeed[];
  deliveries: Delivery[];
}

export interface Mix {
  /** Investors receiving a Sumsub applicantPending then applicantReviewed GREEN (2 deliveries each). */
  sumsubInvestors: number;
  /** Investors (with a bakktPartyRef) receiving one PARTY_EVENT ACTIVE/ENROLLMENT. */
  bakktPartyInvestors: number;
  /** Fireblocks transactions, one COMPLETED event each (v1 signature). */
  custodyTransactions: number;
  /** Orders of Sumsub investors paid by a bank payment.completed (each mints once). */
  bankPayments: number;
  /** Orders of Sumsub investors paid by a broker FIAT_EVENT DEPOSIT COMPLETED. */
  bakktDeposits: number;
  /** Sumsub investors already approved (their payments mint at once). */
  preApproved?: boolean;
}

let clock = Date.parse("2026-02-01T00:00:00.000Z");
/** Provider event times that only go forward, distinct per event. */
const nextTime = () => {
  clock += 3;
  return new Date(clock);
};
const sumsubTime = (d: Date) => d.toISOString().replace("T", " ").replace("Z", "");

/** Build a storm's investors, orders and signed deliveries. */
export function buildFixture(secrets: Secrets, _tokenAddress: Address, mix: Mix): Fixture {
  const tag = randomUUID().slice(0, 8);
  const investors: InvestorSeed[] = [];
  const orders: OrderSeed[] = [];
  const deliveries: Delivery[] = [];

  const sumsubInvestors = Array.from({ length: mix.sumsubInvestors }, (_, i) => ({ id: `inv-s-${tag}-${i}`, wallet: randomWallet(), bakktPartyRef: null }));
  investors.push(...sumsubInvestors);
  if (!mix.preApproved) {
    for (const inv of sumsubInvestors) {
      const pendingAt = nextTime();
      const reviewedAt = nextTime();
      for (const [type, at] of [
        ["applicantPending", pendingAt],
        ["applicantReviewed", reviewedAt],
      ] as const) {
        const body = JSON.stringify({
          applicantId: `app-${inv.id}`,
          inspectionId: `insp-${inv.id}`,
          correlationId: randomUUID(),
          externalUserId: inv.id,
          levelName: "basic-kyc-level",
          type,
          ...(type === "applicantReviewed" ? { reviewResult: { reviewAnswer: "GREEN" }, reviewStatus: "completed" } : { reviewStatus: "pending" }),
          createdAtMs: sumsubTime(at),
        });
        deliveries.push({ kind: "sumsub", path: "/webhooks/kyc/sumsub", body, headers: sumsubHeaders(secrets.sumsub, body), subject: inv.id });
      }
    }
  }

  for (let i = 0; i < mix.bakktPartyInvestors; i++) {
    const inv = { id: `inv-b-${tag}-${i}`, wallet: randomWallet(), bakktPartyRef: `party-${tag}-${i}` };
    investors.push(inv);
    const body = JSON.stringify({
      requestId: randomUUID(),
      partnerPartyRef: inv.bakktPartyRef,
      partnerWebhookType: "PARTY_EVENT",
      created: nextTime().toISOString(),
      partyStatus: "ACTIVE",
      reasonCode: "ENROLLMENT",
      verificationURL: "",
      verificationURLExpiry: "",
    });
    deliveries.push({ kind: "bakkt-party", path: "/webhooks/bakkt", body, headers: standardHeaders(secrets.bakkt, body), subject: inv.id });
  }

  for (let i = 0; i < mix.custodyTransactions; i++) {
    const id = `fbtx-${tag}-${i}`;
    const body = JSON.stringify({
      type: "TRANSACTION_STATUS_UPDATED",
      tenantId: "tenant-1",
      timestamp: nextTime().getTime(),
      data: { id, status: "COMPLETED", subStatus: "CONFIRMED", txHash: `0x${i.toString(16).padStart(64, "0")}` },
    });
    deliveries.push({
      kind: "fireblocks",
      path: "/webhooks/custody/fireblocks",
      body,
      headers: fireblocksV1Headers(secrets.fireblocks.privateKey, body),
      subject: id,
    });
  }

  const payers = mix.bankPayments + mix.bakktDeposits;
  if (payers > sumsubInvestors.length) throw new Error("more paid orders than Sumsub investors");
  for (let i = 0; i < payers; i++) {
    const inv = sumsubInvestors[i]!;
    const whole = 100 + i;
    const order: OrderSeed = {
      referenceId: `ATK-${tag}-${i}`,
      investorId: inv.id,
      wallet: inv.wallet,
      // Distinct amounts, so a double mint or a mint to the wrong wallet shows in the balances.
      tokenAmount: BigInt(whole) * 10n ** 18n + BigInt(i),
      amount: `${whole}.25`,
    };
    orders.push(order);
    if (i < mix.bankPayments) {
      const body = JSON.stringify({
        type: "payment.completed",
        referenceId: order.referenceId,
        amount: Number(order.amount),
        currency: "USD",
        bankTransactionId: `BTX-${tag}-${i}`,
        timestamp: nextTime().toISOString(),
        rail: ["SEPA", "SWIFT", "FEDNOW", "ACH", "RTGS"][i % 5],
      });
      deliveries.push({ kind: "bank-payment", path: "/webhooks/payments", body, headers: standardHeaders(secrets.payments, body), subject: order.referenceId });
    } else {
      const body = JSON.stringify({
        requestId: randomUUID(),
        partnerPartyRef: `party-of-${inv.id}`,
        partnerWebhookType: "FIAT_EVENT",
        fiatEvent: {
          amount: order.amount,
          created: nextTime().toISOString(),
          currency: "USD",
          transactionId: `ach-${tag}-${i}`,
          partnerTransactionRef: order.referenceId,
          fiatTransactType: "DEPOSIT",
          instrumentType: "ACH",
          transactionStatus: "COMPLETED",
        },
      });
      deliveries.push({ kind: "bakkt-deposit", path: "/webhooks/bakkt", body, headers: standardHeaders(secrets.bakkt, body), subject: order.referenceId });
    }
  }
  return { investors, orders, deliveries };
}

/** Every delivery twice, in a random order (a redelivery may come before or long after the first). */
export function twiceShuffled(deliveries: Delivery[]): Delivery[] {
  const sends = [...deliveries, ...deliveries];
  for (let i = sends.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [sends[i], sends[j]] = [sends[j]!, sends[i]!];
  }
  return sends;
}
