import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Address } from "viem";
import type { Database, OrderStatus } from "../../src/db/schema.js";
import { randomWallet } from "./chain.js";

export interface SeededOrder {
  id: string;
  wallet: Address;
  ref: string;
  amount: bigint;
}

/**
 * `n` KYC-approved investors with new wallets, one order each for `amount(i)` of `token`
 * (expecting a 100 USD payment), in `status` (`pending` = waiting for its payment).
 */
export async function seedOrders(
  db: Kysely<Database>,
  n: number,
  token: Address,
  amount: (i: number) => bigint,
  status: OrderStatus = "pending",
): Promise<SeededOrder[]> {
  const rows = Array.from({ length: n }, (_, i) => ({ id: `inv-${randomUUID()}`, wallet: randomWallet(), ref: `ATK-TX-${randomUUID()}`, amount: amount(i) }));
  await db
    .insertInto("investors")
    .values(
      rows.map((r) => ({
        id: r.id,
        wallet: r.wallet,
        first_name: "A",
        last_name: "B",
        date_of_birth: "1980-01-01",
        nationality: "DE",
        kyc_status: "approved" as const,
      })),
    )
    .execute();
  await db
    .insertInto("orders")
    .values(
      rows.map((r) => ({
        reference_id: r.ref,
        investor_id: r.id,
        token_address: token,
        token_amount: r.amount.toString(),
        expected_amount: "100",
        currency: "USD",
        status,
      })),
    )
    .execute();
  return rows;
}
