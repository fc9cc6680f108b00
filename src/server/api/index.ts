import { Hono } from "hono";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import { adminAuth } from "./auth.js";
import { custodyRoutes, custodyTransferRoutes, type CustodyTransferApiDeps } from "./custody.js";
import { distributionRoutes, type DistributionApiDeps } from "./distributions.js";
import { investorRoutes, type InvestorApiDeps } from "./investors.js";
import { mandateRoutes } from "./mandates.js";
import { orderRoutes } from "./orders.js";
import { subscriptionRoutes } from "./subscriptions.js";

export const API_PATH = "/api";

export interface AdminApiDeps {
  db: Kysely<Database>;
  /** Unset: every call answers 503. */
  token: string | undefined;
  log: Logger;
  onDistributionDeclared: DistributionApiDeps["onDeclared"];
  onKycRequested: InvestorApiDeps["onKycRequested"];
  /** SEPA_CREDITOR_ID: mandates are taken under it; unset, creating one answers 503. */
  sepaCreditorId?: string;
  onCustodyTransferRequested: CustodyTransferApiDeps["onTransferRequested"];
}

/**
 * The admin API under /api, behind the bearer token. Creates are idempotent: an identical
 * repeat answers 200 with the stored resource, a different body under an existing id 409.
 */
export function adminApiRoutes(deps: AdminApiDeps): Hono {
  const app = new Hono();
  app.use("*", adminAuth(deps.token));
  app.route("/investors", investorRoutes({ db: deps.db, onKycRequested: deps.onKycRequested }));
  app.route("/orders", orderRoutes(deps.db));
  app.route("/custody-transactions", custodyRoutes(deps.db));
  app.route("/mandates", mandateRoutes({ db: deps.db, creditorId: deps.sepaCreditorId }));
  app.route("/subscriptions", subscriptionRoutes(deps.db));
  app.route("/custody/transfers", custodyTransferRoutes({ db: deps.db, onTransferRequested: deps.onCustodyTransferRequested }));
  app.route("/distributions", distributionRoutes({ db: deps.db, log: deps.log, onDeclared: deps.onDistributionDeclared }));
  return app;
}
