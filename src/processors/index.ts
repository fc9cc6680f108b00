import type { Kysely } from "kysely";
import type { ChainAccess } from "../chain/index.js";
import type { Config } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { QueueName } from "../queues/names.js";
import type { QueueSet } from "../queues/registry.js";
import { bakktWebhookProcessor } from "./bakkt-webhooks.js";
import { brokerEventsProcessor } from "./broker-events.js";
import { custodyProcessor } from "./custody-updates.js";
import { sumsubProcessor } from "./kyc-outcomes.js";
import { mintProcessor } from "./mint.js";
import { bankPaymentProcessor } from "./mint-on-payment.js";
import type { Processor } from "./types.js";

export interface ProcessorDeps {
  config: Config;
  db: Kysely<any>;
  queues: QueueSet;
  metrics: Metrics;
  log: Logger;
  /** Absent when no RPC_URL is configured: mint jobs then wait for a worker that has a chain. */
  chain?: ChainAccess;
}

/** The processors this build has. A queue without one keeps its jobs until one ships. */
export function buildProcessors(deps: ProcessorDeps): Partial<Record<QueueName, Processor>> {
  const { db, queues } = deps;
  return {
    payments: bankPaymentProcessor({ db, queues }) as Processor,
    "bakkt-webhooks": bakktWebhookProcessor({ db, queues }) as Processor,
    "kyc-sumsub": sumsubProcessor({ db, queues }) as Processor,
    "custody-fireblocks": custodyProcessor({ db }) as Processor,
    ...(deps.chain ? { mints: mintProcessor({ db, sender: deps.chain.sender, metrics: deps.metrics }) as Processor } : {}),
    "broker-events": brokerEventsProcessor(deps),
  };
}
