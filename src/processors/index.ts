import type { Kysely } from "kysely";
import type { ChainAccess } from "../chain/index.js";
import type { Config } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { QueueName } from "../queues/names.js";
import type { QueueSet } from "../queues/registry.js";
import type { RegistrarClient } from "../providers/registrar.js";
import type { ScreeningDeps } from "../providers/screening.js";
import { amlRescreenProcessor } from "./aml-rescreen.js";
import { amlScreeningProcessor } from "./aml-screening.js";
import { bakktWebhookProcessor } from "./bakkt-webhooks.js";
import { brokerEventsProcessor } from "./broker-events.js";
import { custodyProcessor } from "./custody-updates.js";
import { dividendsProcessor } from "./dividends.js";
import { sumsubProcessor } from "./kyc-outcomes.js";
import { mintProcessor } from "./mint.js";
import { bankPaymentProcessor } from "./mint-on-payment.js";
import { registrarNoticeProcessor } from "./registrar-notices.js";
import type { Processor } from "./types.js";

export interface ProcessorDeps {
  config: Config;
  db: Kysely<any>;
  queues: QueueSet;
  metrics: Metrics;
  log: Logger;
  /** Present when the screening provider is configured. */
  screening?: ScreeningDeps;
  /** Absent when no RPC_URL is configured: mint jobs then wait for a worker that has a chain. */
  chain?: ChainAccess;
  /** Present when the registrar API is configured: corporate-action notices wait for it. */
  registrar?: RegistrarClient;
}

/** The processors this build has. A queue without one keeps its jobs until one ships. */
export function buildProcessors(deps: ProcessorDeps): Partial<Record<QueueName, Processor>> {
  const { db, queues } = deps;
  return {
    "aml-rescreen": amlRescreenProcessor(deps) as Processor,
    ...(deps.screening ? { "aml-screening": amlScreeningProcessor({ db: deps.db, ...deps.screening }) as Processor } : {}),
    payments: bankPaymentProcessor({ db, queues }) as Processor,
    "bakkt-webhooks": bakktWebhookProcessor({ db, queues }) as Processor,
    "kyc-sumsub": sumsubProcessor({ db, queues }) as Processor,
    "custody-fireblocks": custodyProcessor({ db }) as Processor,
    ...(deps.chain ? { mints: mintProcessor({ db, sender: deps.chain.sender, metrics: deps.metrics }) as Processor } : {}),
    "broker-events": brokerEventsProcessor(deps),
    ...(deps.chain ? { dividends: dividendsProcessor({ db, queues, run: dividendRunDeps(deps, deps.chain) }) as Processor } : {}),
    ...(deps.chain && deps.registrar
      ? { "registrar-notices": registrarNoticeProcessor({ db, registrar: deps.registrar, publicClient: deps.chain.clients.publicClient }) as Processor }
      : {}),
  };
}

function dividendRunDeps(deps: ProcessorDeps, chain: ChainAccess) {
  const { config } = deps;
  return {
    db: deps.db,
    sender: chain.sender,
    publicClient: chain.clients.publicClient,
    batchContract: config.DIVIDEND_BATCH_CONTRACT,
    batchSize: config.DIVIDEND_BATCH_SIZE,
    payoutConcurrency: config.DIVIDEND_PAYOUT_CONCURRENCY,
    logChunkBlocks: config.DIVIDEND_LOG_CHUNK_BLOCKS,
    log: deps.log,
  };
}
