// Dev-only: the simulator's events (`npm run simulate -- --list`); no production process loads src/dev.
import { jumioCallback, onfidoEvent, SEED, SUMSUB_DOCS, TRULIOO_DOCS } from "./examples.js";

/** How an event reaches hookrail: a signed POST to a webhook route, or an envelope published to the broker's SQS queues. */
export type Transport = { kind: "webhook"; path: string; scheme: SigningScheme } | { kind: "sqs"; eventType: string };

/** The signature schemes of the routes (see src/server/webhooks/providers/*.ts). */
export type SigningScheme = "standard-webhooks" | "sumsub-digest" | "onfido-hmac" | "trulioo-hmac" | "jumio-basic" | "fireblocks-v1" | "fireblocks-v2";

/** One example event the simulator can send. */
export interface SimulatedEvent {
  provider: string;
  event: string;
  /** Where the example is printed. */
  source: string;
  /** What must exist in hookrail for the event to be applied, not just accepted. */
  needs?: string;
  /** The body as the source prints it. */
  body: string;
  transport: Transport;
  /** The answer hookrail gives when it accepts the event (202, or 200 for a handshake). */
  accepted: number;
}

const PAYMENTS: Transport = { kind: "webhook", path: "/webhooks/payments", scheme: "standard-webhooks" };
const BAKKT: Transport = { kind: "webhook", path: "/webhooks/bakkt", scheme: "standard-webhooks" };
const SUMSUB: Transport = { kind: "webhook", path: "/webhooks/kyc/sumsub", scheme: "sumsub-digest" };
const ONFIDO: Transport = { kind: "webhook", path: "/webhooks/kyc/onfido", scheme: "onfido-hmac" };
const TRULIOO: Transport = { kind: "webhook", path: "/webhooks/kyc/trulioo", scheme: "trulioo-hmac" };
const JUMIO: Transport = { kind: "webhook", path: "/webhooks/kyc/jumio", scheme: "jumio-basic" };
const FIREBLOCKS_V1: Transport = { kind: "webhook", path: "/webhooks/custody/fireblocks", scheme: "fireblocks-v1" };
const FIREBLOCKS_V2: Transport = { kind: "webhook", path: "/webhooks/custody/fireblocks", scheme: "fireblocks-v2" };

const PLAYBOOK = "ATK integration playbook, payment webhook schema (it prints no literal example)";
const BROKER = "broker guide, webhook examples";
const BROKER_SQS = "broker guide: its webhook example as the payload of an event-queue envelope";

/** A payment confirmation with the playbook's fields, plus the type and rail hookrail reads. */
const payment = (fields: { referenceId: string; amount: string; bankTransactionId: string; type: string; reason?: string }) => `{
  "referenceId": "${fields.referenceId}",
  "amount": ${fields.amount},
  "currency": "USD",
  "bankTransactionId": "${fields.bankTransactionId}",
  "timestamp": "2026-03-01T12:00:00Z",
  "type": "${fields.type}",
  "rail": "SEPA"${fields.reason ? `,\n  "reason": "${fields.reason}"` : ""}
}`;

/** A Fireblocks transaction status update, v1 (`type`, `timestamp`, `data`) or v2 (`id`, `eventType`, `createdAt`, `data`). */
const fireblocksV1 = `{
  "type": "TRANSACTION_STATUS_UPDATED",
  "tenantId": "6f3c2a1e-2d1b-4c5e-9f0a-1b2c3d4e5f60",
  "timestamp": 1709290800000,
  "data": {
    "id": "0f3d3c0e-7d2c-4a8e-9a61-7c1f0e2b5d11",
    "status": "COMPLETED",
    "subStatus": "CONFIRMED",
    "txHash": "0x5f8c6f4a3e1b2d0c9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"
  }
}`;
const fireblocksV2 = `{
  "id": "a2c5e0d4-5b7f-4f4e-8a61-3d9b0e7c2f10",
  "eventType": "transaction.status.updated",
  "eventVersion": 1,
  "workspaceId": "6f3c2a1e-2d1b-4c5e-9f0a-1b2c3d4e5f60",
  "createdAt": 1709290860000,
  "data": {
    "id": "3b9e2f1a-8c4d-4e7b-a0f2-5d6c7b8a9e01",
    "status": "CONFIRMING",
    "subStatus": "",
    "txHash": "0x1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"
  }
}`;

/** The check `onfido check-completed` names: Onfido's API must know it (dev mode's Onfido stub does), tagged with its investor. */
export const ONFIDO_EXAMPLE_CHECK = { id: "8546921-123123-123123", applicantId: "1030303-123123-123123", investorId: "inv-onfido-1" } as const;

/** Every event the simulator knows, in the order `--all` sends them. */
export const SIMULATED_EVENTS: readonly SimulatedEvent[] = [
  {
    provider: "payments",
    event: "completed",
    source: PLAYBOOK,
    needs: "an order ATK-TX-10001 expecting 2500.50 USD (its investor KYC-approved for the mint)",
    body: payment({ referenceId: "ATK-TX-10001", amount: "2500.50", bankTransactionId: "BTX-SIM-10001", type: "payment.completed" }),
    transport: PAYMENTS,
    accepted: 202,
  },
  {
    provider: "payments",
    event: "failed",
    source: PLAYBOOK,
    needs: "an order ATK-TX-10002",
    body: payment({ referenceId: "ATK-TX-10002", amount: "1000.00", bankTransactionId: "BTX-SIM-10002", type: "payment.failed", reason: "insufficient funds" }),
    transport: PAYMENTS,
    accepted: 202,
  },
  ...(
    [
      ["party-active", SEED.bakktActive, "an investor with bakktPartyRef ABCDEFG123"],
      ["party-failed-kyc", SEED.bakktFailedKyc, "an investor with bakktPartyRef ABCDEFG123"],
      ["party-document-verification", SEED.bakktDocVerification, "an investor with bakktPartyRef ABCDEFG123"],
      ["party-suspended", SEED.bakktSuspended, "an investor with bakktPartyRef e8596570-f058-493b-a667-965b6ea2eb8e"],
      ["bank-account-link", SEED.bakktBankLink, undefined],
      ["fiat-ach-pending", SEED.bakktAchPending, undefined],
      ["fiat-ach-completed", SEED.bakktAchCompleted, "an order 77c16517-4513-4124-ab53-a798c310c848 expecting 100 USD"],
    ] as const
  ).flatMap(([event, body, needs]): SimulatedEvent[] => [
    { provider: "bakkt", event, source: BROKER, ...(needs ? { needs } : {}), body, transport: BAKKT, accepted: 202 },
  ]),
  ...(
    [
      ["party-active", SEED.bakktActive, "accounts.PartyEvent.v1"],
      ["bank-account-link", SEED.bakktBankLink, "accounts.BankAccountLink.v1"],
      ["fiat-ach-completed", SEED.bakktAchCompleted, "transfers.FiatEvent.v1"],
    ] as const
  ).map(
    ([event, body, eventType]): SimulatedEvent => ({
      provider: "bakkt-sqs",
      event,
      source: BROKER_SQS,
      body,
      transport: { kind: "sqs", eventType },
      accepted: 202,
    }),
  ),
  {
    provider: "sumsub",
    event: "applicant-created",
    source: "docs.sumsub.com, user verification webhooks",
    needs: "an investor 12672",
    body: SUMSUB_DOCS.applicantCreated,
    transport: SUMSUB,
    accepted: 202,
  },
  {
    provider: "sumsub",
    event: "applicant-pending",
    source: "docs.sumsub.com, user verification webhooks",
    needs: "an investor 12672",
    body: SUMSUB_DOCS.applicantPending,
    transport: SUMSUB,
    accepted: 202,
  },
  {
    provider: "sumsub",
    event: "applicant-reviewed",
    source: "docs.sumsub.com, user verification webhooks",
    needs: "an investor externalUserId",
    body: SUMSUB_DOCS.applicantReviewed,
    transport: SUMSUB,
    accepted: 202,
  },
  {
    provider: "onfido",
    event: "check-completed",
    source: "documentation.onfido.com, webhooks",
    needs: `an investor ${ONFIDO_EXAMPLE_CHECK.investorId}, and Onfido's API to know check ${ONFIDO_EXAMPLE_CHECK.id} tagged investor:${ONFIDO_EXAMPLE_CHECK.investorId} (dev mode's Onfido stub does)`,
    body: onfidoEvent("check.completed", ONFIDO_EXAMPLE_CHECK.id),
    transport: ONFIDO,
    accepted: 202,
  },
  {
    provider: "onfido",
    event: "check-started",
    source: "documentation.onfido.com, webhooks",
    body: onfidoEvent("check.started", ONFIDO_EXAMPLE_CHECK.id),
    transport: ONFIDO,
    accepted: 202,
  },
  { provider: "trulioo", event: "handshake", source: "developer.trulioo.com, API handshake", body: TRULIOO_DOCS.handshake, transport: TRULIOO, accepted: 200 },
  {
    provider: "trulioo",
    event: "service-submit",
    source: "developer.trulioo.com, event dispatcher",
    needs: "an investor sample-user-id",
    body: TRULIOO_DOCS.personMatch,
    transport: TRULIOO,
    accepted: 202,
  },
  {
    provider: "jumio",
    event: "acquired",
    source: "documentation.jumio.ai, callback",
    needs: "an investor inv-jumio-1 (the userReference)",
    body: jumioCallback({
      accountId: "11111111-1111-4111-8111-111111111111",
      executionId: "22222222-2222-4222-8222-222222222222",
      status: "ACQUIRED",
      userReference: "inv-jumio-1",
    }),
    transport: JUMIO,
    accepted: 202,
  },
  {
    provider: "fireblocks-v1",
    event: "transaction-status-updated",
    source: "developers.fireblocks.com, webhooks v1",
    body: fireblocksV1,
    transport: FIREBLOCKS_V1,
    accepted: 202,
  },
  {
    provider: "fireblocks-v2",
    event: "transaction-status-updated",
    source: "developers.fireblocks.com, webhooks v2",
    body: fireblocksV2,
    transport: FIREBLOCKS_V2,
    accepted: 202,
  },
];

/** The event named `provider event`, or undefined. */
export const findEvent = (provider: string, event: string): SimulatedEvent | undefined =>
  SIMULATED_EVENTS.find((e) => e.provider === provider && e.event === event);
