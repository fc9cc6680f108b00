import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { Kysely, Selectable } from "kysely";
import { z } from "zod";
import type { Database, DistributionLinesTable, DistributionsTable } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import { baseUnitsString } from "../../validation/fields.js";
import { createOnce, iso } from "./create-once.js";
import type { AuthVariables } from "../auth/identity.js";
import { type ActionOutcome, operatorAction } from "./operator-action.js";
import { address, identifier, parseBody } from "./validation.js";

export interface DistributionApiDeps {
  db: Kysely<Database>;
  log: Logger;
  /**
   * Called once a declaration is stored, to queue its registrar notice. Stored is what counts:
   * if this fails, the next dividends-due run queues every pending notice.
   */
  onDeclared(distributionId: string): Promise<void>;
  /** Re-key the batches whose payout paid nothing and run the payouts again. */
  retryPayouts(distributionId: string): Promise<ActionOutcome<{ intents: string[] }>>;
}

export const distributionInput = z.strictObject({
  /** Optional: without it the server names the distribution; a repeat is found by its declaration. */
  id: identifier.optional(),
  tokenAddress: address,
  recordBlock: z
    .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[0-9]{1,19}$/, { error: "expected a block number" })])
    .transform((v) => BigInt(v))
    .refine((v) => v < 2n ** 63n, { error: "block number too large" }),
  paymentDate: z
    .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: "expected an ISO 8601 date (YYYY-MM-DD, midnight UTC) or date-time with offset" })
    .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v)),
  amountPerToken: baseUnitsString("payout base units per 10^18 token base units"),
  payoutTokenAddress: address,
});
type DistributionInput = z.infer<typeof distributionInput>;

function distributionView(d: Selectable<DistributionsTable>, lines: Selectable<DistributionLinesTable>[]) {
  return {
    id: d.id,
    tokenAddress: d.token_address,
    recordBlock: d.record_block,
    paymentDate: iso(d.payment_date),
    amountPerToken: d.amount_per_token,
    payoutTokenAddress: d.payout_token_address,
    status: d.status,
    holderCount: d.holder_count,
    totalDue: d.total_due,
    totalPaid: d.total_paid,
    remainder: d.remainder,
    payoutContract: d.payout_contract,
    registrarNotice: {
      status: d.registrar_notice_status,
      reference: d.registrar_reference,
      idempotencyKey: d.registrar_idempotency_key,
      attempts: d.registrar_attempts,
      lastError: d.registrar_error,
      notifiedAt: iso(d.registrar_notified_at),
    },
    lines: lines.map((l) => ({ holder: l.holder, balance: l.balance, amount: l.amount, status: l.status, txHash: l.tx_hash, paidAt: iso(l.paid_at) })),
    createdAt: iso(d.created_at),
    snapshotAt: iso(d.snapshot_at),
    completedAt: iso(d.completed_at),
  };
}

const sameDeclaration = (row: Selectable<DistributionsTable>, d: DistributionInput) =>
  row.token_address === d.tokenAddress &&
  BigInt(row.record_block) === d.recordBlock &&
  row.payment_date.getTime() === d.paymentDate.getTime() &&
  BigInt(row.amount_per_token) === BigInt(d.amountPerToken) &&
  row.payout_token_address === d.payoutTokenAddress;

/**
 * `POST /api/distributions` declares a dividend and queues its registrar notice;
 * `POST /api/distributions/:id/retry-payouts` pays again the batches whose payout paid nothing;
 * `GET /api/distributions/:id` shows its progress and every payment line. A repeated
 * identical declaration answers 200 with the stored one; a different one under the same id,
 * or for the same token, record block and payout token, 409.
 */
export function distributionRoutes(deps: DistributionApiDeps): Hono<{ Variables: AuthVariables }> {
  const { db } = deps;
  const app = new Hono<{ Variables: AuthVariables }>();
  const view = async (row: Selectable<DistributionsTable>) =>
    distributionView(row, await db.selectFrom("distribution_lines").selectAll().where("distribution_id", "=", row.id).orderBy("holder").execute());
  const load = (id: string) => db.selectFrom("distributions").selectAll().where("id", "=", id).executeTakeFirst();

  app.post("/", async (c) => {
    const parsed = await parseBody(c, distributionInput);
    if ("response" in parsed) return parsed.response;
    const d = parsed.data;
    const id = d.id ?? `div-${randomUUID()}`;
    return createOnce(c, {
      insert: async () =>
        (await db
          .insertInto("distributions")
          .values({
            id,
            token_address: d.tokenAddress,
            record_block: d.recordBlock.toString(),
            payment_date: d.paymentDate,
            amount_per_token: d.amountPerToken,
            payout_token_address: d.payoutTokenAddress,
            registrar_idempotency_key: `hookrail-dividend-${id}`,
          })
          .onConflict((oc) => oc.doNothing())
          .returning("id")
          .executeTakeFirst()) !== undefined,
      created: async () => (await load(id))!,
      existing: () =>
        db
          .selectFrom("distributions")
          .selectAll()
          .where((eb) =>
            d.id
              ? eb("id", "=", d.id)
              : eb.and([
                  eb("token_address", "=", d.tokenAddress),
                  eb("record_block", "=", d.recordBlock.toString()),
                  eb("payout_token_address", "=", d.payoutTokenAddress),
                ]),
          )
          .executeTakeFirst(),
      same: (row) => sameDeclaration(row, d),
      conflict: `a distribution ${d.id ? `with id ${d.id}` : "for this token, record block and payout token"}`,
      view,
      afterCreate: async () => {
        try {
          await deps.onDeclared(id);
        } catch (err) {
          deps.log.warn({ distributionId: id, err: (err as Error).message }, "could not queue the registrar notice now; the scheduler will");
        }
      },
    });
  });

  // `{"reason": "..."}`: 200 `{distributionId, status: "paying", intents}` (the new payout intents).
  app.post(
    "/:id/retry-payouts",
    operatorAction({
      param: "id",
      notFound: "no such distribution",
      run: (id) => deps.retryPayouts(id),
      answer: (id, done) => ({ distributionId: id, status: "paying", intents: done.intents }),
    }),
  );

  app.get("/:id", async (c) => {
    const id = identifier.safeParse(c.req.param("id"));
    const row = id.success ? await load(id.data) : undefined;
    return row ? c.json(await view(row)) : c.json({ error: "no such distribution" }, 404);
  });

  return app;
}
