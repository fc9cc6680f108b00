import { z } from "zod";
import { eventJobId } from "../../../queues/job-id.js";
import { idString } from "../../../validation/fields.js";
import { allowlistSetting, defineProvider, webhookQueue, type WebhookJob } from "../provider.js";
import { BasicAuthVerifier } from "../verify/basic-auth.js";

/**
 * A Jumio KYX workflow status callback (https://documentation.jumio.ai, "Callback"): when it was
 * sent, the `userReference` given at account creation (our investor id), the workflow execution
 * (id, href, definition key, status: ACQUIRED, PROCESSED, SESSION_EXPIRED, TOKEN_EXPIRED, ...)
 * and the account. It carries a state, never the decision: that is read from the retrieval API.
 */
export const jumioPayload = z.looseObject({
  callbackSentAt: idString(),
  userReference: z.string().nullish(),
  workflowExecution: z.looseObject({
    id: idString(),
    href: z.string().nullish(),
    definitionKey: z.union([z.string(), z.number()]).nullish(),
    status: idString(),
  }),
  account: z.looseObject({ id: idString(), href: z.string().nullish() }),
});

export type JumioPayload = z.output<typeof jumioPayload>;
export const jumioQueue = webhookQueue("kyc-jumio", jumioPayload);
export type JumioJob = WebhookJob<JumioPayload>;

/**
 * Jumio callbacks, which are not signed. The route is on only with JUMIO_IP_ALLOWLIST (Jumio's
 * published callback addresses) and JUMIO_CALLBACK_CREDENTIALS (the user:password written into
 * the callback URL) both set; config refuses to start with Jumio settings but no allowlist.
 */
export const jumioProvider = defineProvider({
  name: "jumio",
  path: "/kyc/jumio",
  reader: jumioPayload,
  // Identity: the workflow execution and the state it reports; each state is sent once per
  // execution, and a retry of the same callback names the same state.
  identify: (p) => ({
    eventId: `${p.workflowExecution.id}/${p.workflowExecution.status}`,
    jobId: eventJobId("jumio", [p.workflowExecution.id, p.workflowExecution.status]),
    jobName: p.workflowExecution.status,
  }),
  queue: jumioQueue,
  verifier: (config) => {
    const on = config.JUMIO_IP_ALLOWLIST.length > 0 && config.JUMIO_CALLBACK_CREDENTIALS !== undefined;
    return {
      // Without an allowlist the credentials alone would be a password anyone could replay.
      verifier: new BasicAuthVerifier(on ? config.JUMIO_CALLBACK_CREDENTIALS : undefined),
      configured: on,
      settings: "JUMIO_IP_ALLOWLIST and JUMIO_CALLBACK_CREDENTIALS",
    };
  },
  allowlist: allowlistSetting("JUMIO_IP_ALLOWLIST"),
});
