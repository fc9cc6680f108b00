import { Hono } from "hono";
import type { Kysely, Selectable } from "kysely";
import type { Database, OrdersTable } from "../../db/schema.js";
import { decimalEquals } from "../../validation/decimal.js";
import { invalid } from "../invalid.js";
import type { AuthVariables } from "../auth/identity.js";
import { createOnce, iso } from "./create-once.js";
import { flaggedOrderHandler } from "./flagged-orders.js";
import { type ActionOutcome, operatorAction } from "./operator-action.js";
import { createStablecoinOrder, stablecoinView } from "./stablecoin-orders.js";
import { identifier, orderInput, parseBody, type OrderInput } from "./validation.js";
import type { Stablecoins } from "../../chain/stablecoins.js";

function orderView(o: Selectable<OrdersTable>) {
  return {
    referenceId: o.reference_id,
    investorId: o.investor_id,
    tokenAddress: o.token_address,
    tokenAmount: o.token_amount,
    expectedAmount: o.expected_amount,
    currency: o.currency,
    status: o.status,
    payment: o.payment_proof
      ? { source: o.payment_source, proof: o.payment_proof, amount: o.paid_amount, currency: o.paid_currency, paidAt: iso(o.paid_at) }
      : null,
    flagReason: o.flag_reason,
    failureReason: o.failure_reason,
    mintTxHash: o.mint_tx_hash,
    createdAt: iso(o.created_at),
    updatedAt: iso(o.updated_at),
    paidAt: iso(o.paid_at),
    completedAt: iso(o.completed_at),
    rail: o.rail,
    stablecoin: stablecoinView(o),
  };
}

const sameOrder = (row: Selectable<OrdersTable>, o: OrderInput) =>
  row.investor_id === o.investorId &&
  row.token_address === o.tokenAddress &&
  BigInt(row.token_amount) === BigInt(o.tokenAmount) &&
  decimalEquals(row.expected_amount, o.expectedAmount) &&
  row.currency === o.currency;

export interface OrderApiDeps {
  db: Kysely<Database>;
  /** An accepted flagged order is minting: its mint job is enqueued (by the process, which knows the queues). */
  onAccepted: (referenceId: string) => Promise<void>;
  /** Retry a `mint_failed` order's mint (the order processors' retryFailedMint, which queues its job). */
  retryMint: (referenceId: string) => Promise<ActionOutcome<{ retry: number }>>;
  /** The allowed stablecoins of the stablecoin rail; unset = stablecoin orders are refused. */
  stablecoins?: Stablecoins;
}

/**
 * `POST /orders` (idempotent create), `GET /orders/:referenceId` with payment and mint, and
 * the flagged-order resolutions (see flagged-orders.ts) and the retry of a failed mint.
 */
export function orderRoutes(deps: OrderApiDeps): Hono<{ Variables: AuthVariables }> {
  const { db } = deps;
  const app = new Hono<{ Variables: AuthVariables }>();
  const load = (ref: string) => db.selectFrom("orders").selectAll().where("reference_id", "=", ref).executeTakeFirst();

  app.post("/", async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    if (typeof body === "object" && body !== null && (body as { rail?: unknown }).rail === "stablecoin") {
      return createStablecoinOrder(c, db, deps.stablecoins, orderView);
    }
    const parsed = await parseBody(c, orderInput);
    if ("response" in parsed) return parsed.response;
    const o = parsed.data;
    const investor = await db.selectFrom("investors").select("id").where("id", "=", o.investorId).executeTakeFirst();
    if (!investor) return c.json(invalid("invalid request", [`investorId: no investor ${o.investorId}`]), 400);
    return createOnce(c, {
      insert: async () =>
        (await db
          .insertInto("orders")
          .values({
            reference_id: o.referenceId,
            investor_id: o.investorId,
            token_address: o.tokenAddress,
            token_amount: o.tokenAmount,
            expected_amount: o.expectedAmount,
            currency: o.currency,
          })
          .onConflict((oc) => oc.doNothing())
          .returning("reference_id")
          .executeTakeFirst()) !== undefined,
      created: async () => (await load(o.referenceId))!,
      existing: () => load(o.referenceId),
      same: (row) => sameOrder(row, o),
      conflict: `order ${o.referenceId}`,
      view: orderView,
    });
  });

  app.get("/:referenceId", async (c) => {
    const ref = identifier.safeParse(c.req.param("referenceId"));
    const row = ref.success ? await load(ref.data) : undefined;
    return row ? c.json(orderView(row)) : c.json({ error: "no such order" }, 404);
  });

  for (const action of ["accept-payment", "cancel", "reopen"] as const) {
    app.post(`/:referenceId/${action}`, flaggedOrderHandler(db, action, deps.onAccepted));
  }
  // `{"reason": "..."}`: 200 `{referenceId, status: "minting", retry}`.
  app.post(
    "/:referenceId/retry-mint",
    operatorAction({
      param: "referenceId",
      notFound: "no such order",
      run: (ref) => deps.retryMint(ref),
      answer: (ref, done) => ({ referenceId: ref, status: "minting", retry: done.retry }),
    }),
  );

  return app;
}
