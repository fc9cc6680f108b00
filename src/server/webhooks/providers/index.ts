import type { WebhookProvider } from "../provider.js";
import { bakktProvider } from "./bakkt.js";
import { fireblocksProvider } from "./fireblocks.js";
import { paymentsProvider } from "./payments.js";
import { sumsubProvider } from "./sumsub.js";

/** Every webhook provider; the route table under /webhooks is built from this list. */
export const WEBHOOK_PROVIDERS: readonly WebhookProvider[] = [paymentsProvider, bakktProvider, sumsubProvider, fireblocksProvider];
