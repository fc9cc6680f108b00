import type { Kysely } from "kysely";
import type { ChainAccess } from "../chain/index.js";
import type { FireblocksApi } from "../clients/fireblocks-api.js";
import type { JumioClient } from "../clients/jumio.js";
import type { KycAdapters } from "../clients/kyc/index.js";
import type { OnfidoClient } from "../clients/onfido.js";
import type { RegistrarClient } from "../clients/registrar.js";
import type { SepaBankClient } from "../clients/sepa-bank.js";
import type { Config } from "../config/index.js";
import type { Database } from "../db/schema.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { QueueSet } from "../queues/queue-set.js";
import type { ScreeningDeps } from "./aml/screening-client.js";
import type { MintBatcherHooks } from "./orders/mint-batcher.js";

/** What the worker's composition root builds from config and hands to every queue module's processor factory. */
export interface WorkerDeps {
  config: Config;
  db: Kysely<Database>;
  queues: QueueSet;
  metrics: Metrics;
  log: Logger;
  /** Absent when no RPC_URL is configured: chain jobs then wait for a worker that has a chain. */
  chain?: ChainAccess;
  /** Present when the screening provider is configured. */
  screening?: ScreeningDeps;
  /** Present when the registrar API is configured: corporate-action notices wait for it. */
  registrar?: RegistrarClient;
  /** Present when Onfido's API is configured: Onfido events wait for it (the verdict is read from the API). */
  onfido?: OnfidoClient;
  /** Present when Jumio's API is configured: Jumio callbacks wait for it (the decision is read from the API). */
  jumio?: JumioClient;
  /** Present when the bank's payment-file API is configured: SEPA collections wait for it. */
  sepaBank?: SepaBankClient;
  /** The KYC providers whose outbound API is configured (applicant creation, status polls). */
  kycAdapters: KycAdapters;
  /** Present when Fireblocks' API is configured: custody vaults and transfers. */
  fireblocks?: FireblocksApi;
  /** Test fixtures only: points where a test kills the process. */
  hooks?: { mintBatcher?: MintBatcherHooks };
}
