import { UnrecoverableError, type Job } from "bullmq";
import type { WebhookJob } from "../queues/definitions.js";
import { applyPartyEvent, type KycDeps } from "./kyc-outcomes.js";
import { applyFiatEvent } from "./mint-on-payment.js";
import type { Processor } from "./types.js";

/**
 * The broker's account and fiat webhooks share one queue: PARTY_EVENT is a KYC outcome,
 * FIAT_EVENT a deposit that may pay an order, BANK_ACCOUNT_LINK is only noted.
 * Account webhooks name the type `partnerWebhookType`, the fiat guide `webhookType`.
 */
export function bakktWebhookProcessor(deps: KycDeps): Processor<WebhookJob> {
  return async (job: Job<WebhookJob>, log) => {
    const p = job.data.payload;
    const type = p.partnerWebhookType ?? p.webhookType;
    switch (type) {
      case "PARTY_EVENT":
        return applyPartyEvent(deps, job, log);
      case "FIAT_EVENT":
        return applyFiatEvent(deps, job, log);
      case "BANK_ACCOUNT_LINK":
        return { outcome: "ignored", type };
      default:
        throw new UnrecoverableError(`unknown broker webhook type ${JSON.stringify(type)}`);
    }
  };
}
