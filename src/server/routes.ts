import type { Hono } from "hono";
import type { Clients } from "../processes/clients.js";

export interface Mount {
  path: string;
  app: Hono;
}

/**
 * Feature routes of the web process (webhook receivers, admin API), built from the process's
 * clients. Each feature adds one line here.
 */
export function featureRoutes(_c: Clients): Mount[] {
  return [];
}
