import type { Context } from "hono";
import type { Kysely, Selectable } from "kysely";
import { formatUnits, getAddress } from "viem";
import type { Stablecoins } from "../../chain/stablecoins.js";
import type { Database, OrdersTable } from "../../db/schema.js";
import { toBaseUnits } from "../../validation/decimal.js";
import { issuesOf } from "../../validation/issues.js";
import { invalid } from "../invalid.js";
import { createOnce, iso } from "./create-once.js";
import { stablecoinOrderInput, type StablecoinOrderInput } from "./validation.js";

/** The stablecoin fields of an order's API view; null on other rails. */
export function stablecoinView(o: Selectable<OrdersTable>) {
  if (o.rail !== "stablecoin") return null;
  return {
    cashToken: o.cash_token,
    cashBaseUnits: o.cash_amount,
    seller: o.seller,
    expiresAt: iso(o.expires_at),
    waitingReason: o.waiting_reason,
    settlementTxHash: o.settlement_tx_hash,
  };
}

const sameStablecoinOrder = (row: Selectable<OrdersTable>, o: StablecoinOrderInput, cash: bigint) =>
  row.rail === "stablecoin" &&
  row.investor_id === o.investorId &&
  row.token_address === o.tokenAddress &&
  BigInt(row.token_amount) === BigInt(o.tokenAmount) &&
  row.cash_token === o.cashToken &&
  BigInt(row.cash_amount ?? -1) === cash &&
  (row.seller ?? undefined) === o.seller &&
  (row.expires_at?.getTime() ?? undefined) === (o.expiresAt === undefined ? undefined : Date.parse(o.expiresAt));

/**
 * `POST /orders` with `rail: "stablecoin"`: the order waits in `awaiting_allowance` until the
 * buyer's allowance to the DvP contract and balance cover the cash amount (the DvP watcher
 * queues its settlement then). Idempotent like every create.
 */
export async function createStablecoinOrder(
  c: Context,
  db: Kysely<Database>,
  stablecoins: Stablecoins | undefined,
  view: (row: Selectable<OrdersTable>) => unknown,
): Promise<Response> {
  const parsed = stablecoinOrderInput.safeParse(await c.req.json());
  if (!parsed.success) {
    return c.json(invalid("invalid request", issuesOf(parsed.error)), 400);
  }
  const o = parsed.data;
  if (!stablecoins?.isAllowed(o.cashToken)) {
    return c.json(invalid("invalid request", [`cashToken: ${o.cashToken} is not one of the allowed stablecoins (STABLECOIN_TOKENS)`]), 400);
  }
  let cash: bigint;
  let decimals: number;
  try {
    decimals = await stablecoins.decimals(o.cashToken);
  } catch {
    return c.json({ error: "the chain cannot be read right now (stablecoin decimals); retry" }, 503);
  }
  if (o.cashBaseUnits !== undefined) {
    cash = BigInt(o.cashBaseUnits);
  } else {
    const units = toBaseUnits(o.cashAmount!, decimals);
    if (units === undefined) return c.json(invalid("invalid request", [`cashAmount: more than the token's ${decimals} decimals`]), 400);
    cash = units;
  }
  if (o.seller !== undefined && getAddress(o.seller) === o.tokenAddress) {
    return c.json(invalid("invalid request", ["seller: expected an investor's wallet, not the token"]), 400);
  }
  const investor = await db.selectFrom("investors").select("id").where("id", "=", o.investorId).executeTakeFirst();
  if (!investor) return c.json(invalid("invalid request", [`investorId: no investor ${o.investorId}`]), 400);
  const load = () => db.selectFrom("orders").selectAll().where("reference_id", "=", o.referenceId).executeTakeFirst();
  return createOnce(c, {
    insert: async () =>
      (await db
        .insertInto("orders")
        .values({
          reference_id: o.referenceId,
          investor_id: o.investorId,
          token_address: o.tokenAddress,
          token_amount: o.tokenAmount,
          // The cash leg in the order's generic fields too (reports read them): the exact decimal.
          expected_amount: formatUnits(cash, decimals),
          currency: "USD",
          status: "awaiting_allowance",
          rail: "stablecoin",
          cash_token: o.cashToken,
          cash_amount: cash.toString(),
          seller: o.seller ?? null,
          expires_at: o.expiresAt ?? null,
        })
        .onConflict((oc) => oc.doNothing())
        .returning("reference_id")
        .executeTakeFirst()) !== undefined,
    created: async () => (await load())!,
    existing: load,
    same: (row) => sameStablecoinOrder(row, o, cash),
    conflict: `order ${o.referenceId}`,
    view,
  });
}
