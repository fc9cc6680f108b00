import type { Kysely } from "kysely";
import type { Config } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { QueueName } from "../queues/names.js";
import type { QueueSet } from "../queues/registry.js";
import type { ScreeningDeps } from "../providers/screening.js";
import { amlRescreenProcessor } from "./aml-rescreen.js";
import { amlScreeningProcessor } from "./aml-screening.js";
import { brokerEventsProcessor } from "./broker-events.js";
import type { Processor } from "./types.js";

export interface ProcessorDeps {
  config: Config;
  db: Kysely<any>;
  queues: QueueSet;
  metrics: Metrics;
  log: Logger;
  /** Present when the screening provider is configured. */
  screening?: ScreeningDeps;
}

/** The processors this build has. A queue without one keeps its jobs until one ships. */
export function buildProcessors(deps: ProcessorDeps): Partial<Record<QueueName, Processor>> {
  return {
    "aml-rescreen": amlRescreenProcessor(deps) as Processor,
    ...(deps.screening ? { "aml-screening": amlScreeningProcessor({ db: deps.db, ...deps.screening }) as Processor } : {}),
    "broker-events": brokerEventsProcessor(deps),
  };
}
