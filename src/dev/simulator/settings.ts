// Dev-only: where the simulator finds its secrets and targets; no production process loads src/dev.
import { createPrivateKey } from "node:crypto";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { SimulatorSecrets, SimulatorTargets } from "./send.js";

/** Where `npm run dev` writes the secrets it made up, for the simulator to read. */
export const DEV_SIMULATOR_ENV_FILE = ".dev/simulator.env";

/** The newest entry of a rotation list (comma-separated, as hookrail reads it). */
const first = (value: string | undefined): string | undefined =>
  value
    ?.split(",")
    .map((s) => s.trim())
    .find(Boolean);

/**
 * The secrets hookrail is configured with, read from the same settings it reads (the first
 * entry of each list), plus the Fireblocks signing key only a simulator holds:
 * SIMULATOR_FIREBLOCKS_PRIVATE_KEY (PKCS#8 PEM, `\n` allowed) and SIMULATOR_FIREBLOCKS_KID.
 */
export function secretsFromEnv(env: NodeJS.ProcessEnv): SimulatorSecrets {
  const pem = env.SIMULATOR_FIREBLOCKS_PRIVATE_KEY?.replace(/\\n/g, "\n");
  return {
    payments: first(env.PAYMENTS_WEBHOOK_SECRETS),
    bakkt: first(env.BAKKT_WEBHOOK_SECRETS),
    sumsub: first(env.SUMSUB_WEBHOOK_SECRETS),
    onfido: first(env.ONFIDO_WEBHOOK_SECRETS),
    trulioo: first(env.TRULIOO_WEBHOOK_SECRETS),
    jumio: env.JUMIO_CALLBACK_CREDENTIALS || undefined,
    ...(pem ? { fireblocks: { privateKey: createPrivateKey(pem), ...(env.SIMULATOR_FIREBLOCKS_KID ? { kid: env.SIMULATOR_FIREBLOCKS_KID } : {}) } } : {}),
  };
}

/**
 * Where to send: `target` (--target), else SIMULATOR_TARGET, else 127.0.0.1:PORT. Broker
 * envelopes go to BAKKT_SQS_PRIMARY_URL and BAKKT_SQS_DR_URL with the AWS SDK (region
 * AWS_REGION, endpoint AWS_ENDPOINT_URL_SQS, credentials from its default chain).
 */
export function targetsFromEnv(env: NodeJS.ProcessEnv, target?: string): SimulatorTargets {
  const baseUrl = target ?? env.SIMULATOR_TARGET ?? `http://127.0.0.1:${env.PORT || 3000}`;
  const queueUrls = [env.BAKKT_SQS_PRIMARY_URL, env.BAKKT_SQS_DR_URL].filter((u): u is string => Boolean(u));
  if (queueUrls.length === 0) return { baseUrl };
  const client = new SQSClient({ region: env.AWS_REGION || "us-east-1", ...(env.AWS_ENDPOINT_URL_SQS ? { endpoint: env.AWS_ENDPOINT_URL_SQS } : {}) });
  return { baseUrl, sqs: { client, queueUrls } };
}
