import type { Hono } from "hono";
import type { Clients } from "../processes/clients.js";
import { WEBHOOKS_PATH, webhookRoutes } from "./webhooks/index.js";
import { adminApiRoutes } from "./api/index.js";

export interface Mount {
  path: string;
  app: Hono;
}

/**
 * Feature routes of the web process (webhook receivers, admin API), built from the process's
 * clients. Each feature adds one line here.
 */
export function featureRoutes(c: Clients): Mount[] {
  return [
    { path: WEBHOOKS_PATH, app: webhookRoutes(c) },
    { path: "/api", app: adminApiRoutes({ db: c.dbh.db, token: c.config.ADMIN_API_TOKEN }) },
  ];
}
