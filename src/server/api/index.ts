import { Hono } from "hono";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import type { Stablecoins } from "../../chain/stablecoins.js";
import { adminAuth } from "./auth.js";
import { custodyRoutes } from "./custody.js";
import { distributionRoutes, type DistributionApiDeps } from "./distributions.js";
import { investorRoutes, type InvestorApiDeps } from "./investors.js";
import { orderRoutes } from "./orders.js";

export const API_PATH = "/api";

export interface AdminApiDeps {
  db: Kysely<Database>;
  /** Unset: every call answers 503. */
  token: string | undefined;
  log: Logger;
  onDistributionDeclared: DistributionApiDeps["onDeclared"];
  onKycRequested: InvestorApiDeps["onKycRequested"];
  /** The allowed stablecoins of the stablecoin rail; unset = stablecoin orders are refused. */
  stablecoins?: Stablecoins;
}

/**
 * The admin API under /api, behind the bearer token. Creates are idempotent: an identical
 * repeat answers 200 with the stored resource, a different body under an existing id 409.
 */
export function adminApiRoutes(deps: AdminApiDeps): Hono {
  const app = new Hono();
  app.use("*", adminAuth(deps.token));
  app.route("/investors", investorRoutes({ db: deps.db, onKycRequested: deps.onKycRequested }));
  app.route("/orders", orderRoutes(deps.db, deps.stablecoins ? { stablecoins: deps.stablecoins } : {}));
  app.route("/custody-transactions", custodyRoutes(deps.db));
  app.route("/distributions", distributionRoutes({ db: deps.db, log: deps.log, onDeclared: deps.onDistributionDeclared }));
  return app;
}
