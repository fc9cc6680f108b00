import { Hono } from "hono";
import type { Kysely, Selectable } from "kysely";
import { z } from "zod";
import type { CustodyTransfersTable, Database } from "../../db/schema.js";
import { decimalEquals, isPlainDecimal, isPositiveDecimal } from "../../validation/decimal.js";
import { createOnce, iso } from "./create-once.js";
import { identifier, parseBody } from "./validation.js";

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

const assetId = z.string().regex(/^[A-Za-z0-9_]{1,64}$/, { error: "expected a Fireblocks asset id like ETH or USDC_ETH" });

/** `POST /custody/transfers`: a transfer out of a Fireblocks vault; `id` becomes its externalTxId. */
export const custodyTransferInput = z.strictObject({
  id: identifier,
  vaultId: z.string().regex(/^[0-9]{1,20}$/, { error: "expected a Fireblocks vault account id (digits)" }),
  assetId,
  amount: z
    .string({ error: 'expected an exact decimal string like "1.25"' })
    .refine((v) => isPlainDecimal(v) && v.length <= 60, { error: 'expected an exact decimal string like "1.25"' })
    .refine(isPositiveDecimal, { error: "expected more than 0" }),
  destination: z.discriminatedUnion(
    "type",
    [
      z.strictObject({ type: z.literal("ONE_TIME_ADDRESS"), address: z.string().trim().min(1).max(256), tag: z.string().max(256).optional() }),
      z.strictObject({ type: z.enum(["VAULT_ACCOUNT", "EXTERNAL_WALLET", "INTERNAL_WALLET"]), id: z.string().trim().min(1).max(128) }),
    ],
    { error: "expected {type: ONE_TIME_ADDRESS, address} or {type: VAULT_ACCOUNT | EXTERNAL_WALLET | INTERNAL_WALLET, id}" },
  ),
});
export type CustodyTransferInput = z.output<typeof custodyTransferInput>;

/** The destination as Fireblocks' transaction request names it. */
const fireblocksDestination = (d: CustodyTransferInput["destination"]) =>
  d.type === "ONE_TIME_ADDRESS" ? { type: d.type, oneTimeAddress: { address: d.address, ...(d.tag ? { tag: d.tag } : {}) } } : { type: d.type, id: d.id };

export interface CustodyTransferApiDeps {
  db: Kysely<Database>;
  /**
   * Queue the job that creates the Fireblocks transaction (the web process wires the
   * custody-transfers queue in). Called after the insert and on an identical repeat of a
   * transfer not yet submitted; the job id makes the second call a no-op.
   */
  onTransferRequested(transferId: string): Promise<void>;
}

/** `POST /custody/transfers` (idempotent create) and `GET /custody/transfers/:id`: our request and its Fireblocks transaction. */
export function custodyTransferRoutes({ db, onTransferRequested }: CustodyTransferApiDeps): Hono {
  const app = new Hono();
  const load = (id: string) => db.selectFrom("custody_transfers").selectAll().where("id", "=", id).executeTakeFirst();
  const view = async (t: Selectable<CustodyTransfersTable>) => {
    const fb = t.fireblocks_tx_id ? await db.selectFrom("custody_transactions").selectAll().where("id", "=", t.fireblocks_tx_id).executeTakeFirst() : undefined;
    return {
      id: t.id,
      vaultId: t.vault_id,
      assetId: t.asset_id,
      amount: t.amount,
      destination: t.destination,
      createdAt: iso(t.created_at),
      submittedAt: iso(t.submitted_at),
      // Null until the custody-transfers job has created it; its status then follows Fireblocks' webhooks.
      fireblocks: t.fireblocks_tx_id
        ? {
            id: t.fireblocks_tx_id,
            status: fb?.status ?? null,
            subStatus: fb?.sub_status ?? null,
            txHash: fb?.tx_hash ?? null,
            lastEventAt: iso(fb?.last_event_at ?? null),
            finishedAt: iso(fb?.finished_at ?? null),
          }
        : null,
    };
  };
  const submit = async (t: Selectable<CustodyTransfersTable>) => {
    if (!t.fireblocks_tx_id) await onTransferRequested(t.id);
  };

  app.post("/", async (c) => {
    const parsed = await parseBody(c, custodyTransferInput);
    if ("response" in parsed) return parsed.response;
    const i = parsed.data;
    const destination = fireblocksDestination(i.destination);
    return createOnce(c, {
      insert: async () =>
        (await db
          .insertInto("custody_transfers")
          .values({ id: i.id, vault_id: i.vaultId, asset_id: i.assetId, amount: i.amount, destination: JSON.stringify(destination) })
          .onConflict((oc) => oc.doNothing())
          .returning("id")
          .executeTakeFirst()) !== undefined,
      created: async () => (await load(i.id))!,
      existing: () => load(i.id),
      same: (t) =>
        t.vault_id === i.vaultId &&
        t.asset_id === i.assetId &&
        decimalEquals(t.amount, i.amount) &&
        JSON.stringify(t.destination) === JSON.stringify(destination),
      afterCreate: submit,
      afterRepeat: submit,
      conflict: `custody transfer ${i.id}`,
      view,
    });
  });

  app.get("/:id", async (c) => {
    const id = identifier.safeParse(c.req.param("id"));
    const row = id.success ? await load(id.data) : undefined;
    return row ? c.json(await view(row)) : c.json({ error: "no such custody transfer" }, 404);
  });
  return app;
}
