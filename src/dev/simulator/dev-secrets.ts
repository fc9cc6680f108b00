// Dev-only: the webhook secrets `npm run dev` makes up; no production process loads src/dev.
import { randomBytes } from "node:crypto";
import type { JwksStub } from "../stubs/fireblocks-jwks.js";
import { rsaKeyPair } from "./fireblocks-signing.js";

export interface MadeUpSecrets {
  /** `SETTING=value` lines to print, one per secret made up. */
  printed: string[];
  /** The same, and the Fireblocks signing key, for the simulator's env file. */
  simulatorEnv: Record<string, string>;
}

const standardWebhookSecret = () => `whsec_${randomBytes(24).toString("base64")}`;
const hexSecret = () => randomBytes(24).toString("hex");

/**
 * Fill every unset webhook secret in `env` (mutated) with a fresh one, as dev mode does for
 * the dashboard password: a Fireblocks key pair whose public half goes to FIREBLOCKS_PUBLIC_KEYS
 * (v1) and, when dev serves the JWKS, into it (v2); Jumio callback credentials only where an
 * allowlist is set (config refuses them without one).
 */
export async function makeUpWebhookSecrets(env: NodeJS.ProcessEnv, jwks: JwksStub | undefined): Promise<MadeUpSecrets> {
  const made: Record<string, string> = {};
  const fill = (setting: string, make: () => string) => {
    if (env[setting]) return;
    env[setting] = made[setting] = make();
  };
  fill("PAYMENTS_WEBHOOK_SECRETS", standardWebhookSecret);
  fill("BAKKT_WEBHOOK_SECRETS", standardWebhookSecret);
  fill("SUMSUB_WEBHOOK_SECRETS", hexSecret);
  fill("ONFIDO_WEBHOOK_SECRETS", hexSecret);
  fill("TRULIOO_WEBHOOK_SECRETS", hexSecret);
  if (env.JUMIO_IP_ALLOWLIST) fill("JUMIO_CALLBACK_CREDENTIALS", () => `jumio:${randomBytes(12).toString("base64url")}`);
  const printed = Object.entries(made).map(([k, v]) => `${k}=${v}`);
  const simulatorEnv = { ...made };
  if (!env.FIREBLOCKS_PUBLIC_KEYS) {
    const pair = rsaKeyPair();
    env.FIREBLOCKS_PUBLIC_KEYS = pair.publicPem;
    simulatorEnv.SIMULATOR_FIREBLOCKS_PRIVATE_KEY = pair.privatePem;
    if (jwks) {
      const kid = `dev-${randomBytes(4).toString("hex")}`;
      await jwks.publish(kid, pair.privateKey);
      simulatorEnv.SIMULATOR_FIREBLOCKS_KID = kid;
    }
    printed.push(`FIREBLOCKS_PUBLIC_KEYS=<a new RSA key; its private half is in the simulator's file>`);
  }
  return { printed, simulatorEnv };
}
