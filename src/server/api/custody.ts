import { Hono } from "hono";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";
import { iso } from "./create-once.js";

/** `GET /custody-transactions/:id`: a Fireblocks transaction's status, sub-status and tx hash. */
export function custodyRoutes(db: Kysely<Database>): Hono {
  const app = new Hono();
  app.get("/:id", async (c) => {
    const row = await db.selectFrom("custody_transactions").selectAll().where("id", "=", c.req.param("id")).executeTakeFirst();
    if (!row) return c.json({ error: "no such custody transaction" }, 404);
    return c.json({
      id: row.id,
      status: row.status,
      subStatus: row.sub_status,
      txHash: row.tx_hash,
      lastEventAt: iso(row.last_event_at),
      finishedAt: iso(row.finished_at),
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    });
  });
  return app;
}
