import type { Processor } from "../../queues/queue-module.js";
import type { BakktJob } from "../../server/webhooks/providers/bakkt.js";
import type { KycDeps } from "../kyc/apply-outcome.js";
import { applyPartyEvent } from "../kyc/bakkt-party.js";
import { applyFiatDeposit } from "../orders/fiat-deposits.js";

/**
 * `bakkt-webhooks`: the broker's account and fiat webhooks share one queue. PARTY_EVENT is a
 * KYC outcome, FIAT_EVENT a deposit that may pay an order, BANK_ACCOUNT_LINK is only noted.
 */
export function bakktWebhooksProcessor(deps: KycDeps): Processor<BakktJob> {
  return async ({ payload, receivedAt }, job, log) => {
    switch (payload.webhookType) {
      case "PARTY_EVENT":
        return applyPartyEvent(deps, payload, receivedAt, job.id, log);
      case "FIAT_EVENT":
        return applyFiatDeposit(deps, payload.fiatEvent, receivedAt, log);
      case "BANK_ACCOUNT_LINK":
        return { outcome: "ignored", type: payload.webhookType };
    }
  };
}
