import { amlScreeningQueue } from "../processors/aml/screening.js";
import { bakktWebhooksProcessor } from "../processors/broker/bakkt-webhooks.js";
import { brokerEventsProcessor } from "../processors/broker/events.js";
import { custodyProcessor } from "../processors/custody/fireblocks.js";
import { custodyTransfersQueue } from "../processors/custody/transfers.js";
import { custodyVaultsQueue } from "../processors/custody/vaults.js";
import type { WorkerDeps } from "../processors/deps.js";
import { dvpSettlementsQueue } from "../processors/dvp/settlements-queue.js";
import { dividendPayoutsQueue } from "../processors/dividends/payouts.js";
import { registrarNoticesQueue } from "../processors/dividends/registrar-notices.js";
import { kycApplicationsQueue } from "../processors/kyc/applications.js";
import { jumioProcessor } from "../processors/kyc/jumio.js";
import { onfidoProcessor } from "../processors/kyc/onfido.js";
import { kycStatusQueue } from "../processors/kyc/status-poll.js";
import { sumsubProcessor } from "../processors/kyc/sumsub.js";
import { truliooProcessor } from "../processors/kyc/trulioo.js";
import { mintsQueue } from "../processors/orders/mint.js";
import { bankPaymentsProcessor } from "../processors/orders/payments.js";
import { sepaReportsProcessor } from "../processors/sepa/status-reports.js";
import type { z } from "zod";
import { withProcessor, type Processor, type QueueModule, type QueueSettings } from "../queues/queue-module.js";
import { brokerEventsQueue } from "../relay/job.js";
import { amlRescreenQueue } from "../schedulers/aml-rescreen.js";
import { dividendsDueQueue } from "../schedulers/dividends-due.js";
import { kycReconcileQueue } from "../schedulers/kyc-reconcile.js";
import { sepaCollectionQueue } from "../schedulers/sepa-collection.js";
import { bakktQueue } from "../server/webhooks/providers/bakkt.js";
import { fireblocksQueue } from "../server/webhooks/providers/fireblocks.js";
import { paymentsQueue } from "../server/webhooks/providers/payments.js";
import { sepaReportsQueue } from "../server/webhooks/providers/sepa.js";
import { jumioQueue } from "../server/webhooks/providers/jumio.js";
import { onfidoQueue } from "../server/webhooks/providers/onfido.js";
import { sumsubQueue } from "../server/webhooks/providers/sumsub.js";
import { truliooQueue } from "../server/webhooks/providers/trulioo.js";

/**
 * Every queue hookrail runs, one entry each. Queue names, the producers' default job options,
 * the worker's processors, the dashboard, the queue-depth metric and the schedulers all come
 * from this list. A queue an ingress fills (webhook providers, the relay) takes its settings
 * from that ingress, since its job schema is what the ingress accepted, and its processor from
 * the feature; any other queue is one module of its feature.
 */
/** An ingress's queue settings with the worker's processor for it. */
const served = <S extends z.ZodType>(settings: QueueSettings<S>, processor: (deps: WorkerDeps) => Processor<z.output<S>> | undefined) =>
  withProcessor<S, WorkerDeps>(settings, processor);

// biome-ignore lint/suspicious/noExplicitAny: each module's data type differs; the list only carries them.
export const QUEUE_MODULES: readonly QueueModule<any, WorkerDeps>[] = [
  served(paymentsQueue, bankPaymentsProcessor),
  served(bakktQueue, bakktWebhooksProcessor),
  served(sumsubQueue, sumsubProcessor),
  served(onfidoQueue, onfidoProcessor),
  served(truliooQueue, truliooProcessor),
  served(jumioQueue, jumioProcessor),
  served(fireblocksQueue, custodyProcessor),
  served(brokerEventsQueue, brokerEventsProcessor),
  kycApplicationsQueue,
  kycReconcileQueue,
  kycStatusQueue,
  mintsQueue,
  dvpSettlementsQueue,
  amlRescreenQueue,
  amlScreeningQueue,
  dividendsDueQueue,
  dividendPayoutsQueue,
  registrarNoticesQueue,
  served(sepaReportsQueue, sepaReportsProcessor),
  sepaCollectionQueue,
  custodyVaultsQueue,
  custodyTransfersQueue,
];

export const QUEUE_NAMES: readonly string[] = QUEUE_MODULES.map((m) => m.name);
