import { type Context, Hono } from "hono";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import type { Stablecoins } from "../../chain/stablecoins.js";
import type { AuditLog } from "../audit.js";
import type { AuthVariables } from "../auth/identity.js";
import { auditWrites } from "./audit.js";
import { adminAuth, type NamedToken } from "./auth.js";
import { custodyRoutes, custodyTransferRoutes, type CustodyTransferApiDeps } from "./custody.js";
import { distributionRoutes, type DistributionApiDeps } from "./distributions.js";
import { investorRoutes, type InvestorApiDeps } from "./investors.js";
import { mandateRoutes } from "./mandates.js";
import { type OrderApiDeps, orderRoutes } from "./orders.js";
import { subscriptionRoutes } from "./subscriptions.js";

export const API_PATH = "/api";

export interface AdminApiDeps {
  db: Kysely<Database>;
  /** Named callers (ADMIN_API_TOKENS plus ADMIN_API_TOKEN as "default"); none: every call answers 503. */
  tokens: readonly NamedToken[];
  log: Logger;
  audit: AuditLog;
  ip: (c: Context) => string | undefined;
  onDistributionDeclared: DistributionApiDeps["onDeclared"];
  retryPayouts: DistributionApiDeps["retryPayouts"];
  onKycRequested: InvestorApiDeps["onKycRequested"];
  /** SEPA_CREDITOR_ID: mandates are taken under it; unset, creating one answers 503. */
  sepaCreditorId?: string;
  onCustodyTransferRequested: CustodyTransferApiDeps["onTransferRequested"];
  onOrderAccepted: OrderApiDeps["onAccepted"];
  retryMint: OrderApiDeps["retryMint"];
  /** The allowed stablecoins of the stablecoin rail; unset = stablecoin orders are refused. */
  stablecoins?: Stablecoins;
}

/**
 * The admin API under /api, behind named bearer tokens; every write is audited under the
 * token's name. Creates are idempotent: an identical repeat answers 200 with the stored
 * resource, a different body under an existing id 409.
 */
export function adminApiRoutes(deps: AdminApiDeps): Hono<{ Variables: AuthVariables }> {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.use("*", adminAuth(deps.tokens), auditWrites(deps.audit, deps.ip));
  app.route("/investors", investorRoutes({ db: deps.db, onKycRequested: deps.onKycRequested }));
  app.route(
    "/orders",
    orderRoutes({
      db: deps.db,
      onAccepted: deps.onOrderAccepted,
      retryMint: deps.retryMint,
      ...(deps.stablecoins ? { stablecoins: deps.stablecoins } : {}),
    }),
  );
  app.route("/custody-transactions", custodyRoutes(deps.db));
  app.route("/mandates", mandateRoutes({ db: deps.db, creditorId: deps.sepaCreditorId }));
  app.route("/subscriptions", subscriptionRoutes(deps.db));
  app.route("/custody/transfers", custodyTransferRoutes({ db: deps.db, onTransferRequested: deps.onCustodyTransferRequested }));
  app.route("/distributions", distributionRoutes({ db: deps.db, log: deps.log, onDeclared: deps.onDistributionDeclared, retryPayouts: deps.retryPayouts }));
  return app;
}
