import type { WebhookProvider } from "../provider.js";
import { bakktProvider } from "./bakkt.js";
import { fireblocksProvider } from "./fireblocks.js";
import { jumioProvider } from "./jumio.js";
import { onfidoProvider } from "./onfido.js";
import { paymentsProvider } from "./payments.js";
import { sepaProvider } from "./sepa.js";
import { sumsubProvider } from "./sumsub.js";
import { truliooProvider } from "./trulioo.js";

/** Every webhook provider; the route table under /webhooks is built from this list. */
export const WEBHOOK_PROVIDERS: readonly WebhookProvider[] = [
  paymentsProvider,
  sepaProvider,
  bakktProvider,
  sumsubProvider,
  onfidoProvider,
  truliooProvider,
  jumioProvider,
  fireblocksProvider,
];
