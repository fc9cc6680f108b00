import type { Context } from "hono";
import type { Kysely } from "kysely";
import { z } from "zod";
import type { Database, OrderStatus } from "../../db/schema.js";
import type { AuthVariables } from "../auth/identity.js";
import { identifier, parseBody } from "./validation.js";

const retryInput = z.strictObject({
  reason: z.string().trim().min(1, { error: "expected why (1-500 characters)" }).max(500, { error: "expected why (1-500 characters)" }),
});

export type RetryOutcome = { retry: number } | { conflict: string } | { missing: true };

/** What an order's mint intent may have ended as for the order to be minted again: it minted nothing. */
const MINTED_NOTHING = new Set(["reverted", "failed"]);

/**
 * Mint a `mint_failed` order again once its cause is fixed (a Fireblocks policy that blocked
 * the call, a token paused between the simulation and the block): one database transaction,
 * conditional on `status = 'mint_failed'` with the order row locked, so of two concurrent
 * retries one lets the failed intents go and the other then finds that done (see below). The
 * intents that carried it must have ended
 * `reverted` or `failed` (nothing was minted); they are let go (`live = false`) and stay as
 * they ended, and the order is `minting` again. Its next mint is a new intent
 * (`mint:<reference>:<n>`, or a new batch), queued under its own job id. The same call on an
 * order already let go and not yet carried by a new intent answers the same retry again (and
 * reruns its job if that gave up), so a caller whose answer was lost can simply repeat it;
 * once a new intent carries the order, 409.
 */
export async function retryFailedMint(db: Kysely<Database>, ref: string): Promise<RetryOutcome> {
  return db.transaction().execute(async (trx) => {
    const order = await trx.selectFrom("orders").select("status").where("reference_id", "=", ref).forUpdate().executeTakeFirst();
    if (!order) return { missing: true as const };
    const retiredCount = async () =>
      Number(
        (
          await trx
            .selectFrom("mint_intent_orders")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .where("reference_id", "=", ref)
            .where("live", "=", false)
            .executeTakeFirstOrThrow()
        ).n,
      );
    if (order.status === "minting") {
      // A repeat of a retry whose answer (or enqueue) was lost: the order was let go of its
      // failed intents and has no new one yet. The same retry is queued again (same job id).
      const live = await trx.selectFrom("mint_intent_orders").select("intent_key").where("reference_id", "=", ref).where("live", "=", true).executeTakeFirst();
      const retry = live ? 0 : await retiredCount();
      if (retry > 0) return { retry };
    }
    if (order.status !== "mint_failed") return { conflict: `order ${ref} is ${order.status}, not mint_failed; nothing changed` };
    const carriers = await trx
      .selectFrom("mint_intent_orders as m")
      .innerJoin("chain_transactions as t", "t.intent_key", "m.intent_key")
      .select(["t.intent_key", "t.status"])
      .where("m.reference_id", "=", ref)
      .where("m.live", "=", true)
      .execute();
    const unfinished = carriers.find((t) => !MINTED_NOTHING.has(t.status));
    if (unfinished) return { conflict: `order ${ref}'s mint ${unfinished.intent_key} is ${unfinished.status}, not reverted or failed; nothing changed` };
    await trx.updateTable("mint_intent_orders").set({ live: false }).where("reference_id", "=", ref).where("live", "=", true).execute();
    await trx
      .updateTable("orders")
      .set({ status: "minting" satisfies OrderStatus, failure_reason: null, mint_tx_hash: null, updated_at: new Date() })
      .where("reference_id", "=", ref)
      .execute();
    return { retry: await retiredCount() };
  });
}

/** `POST /orders/:referenceId/retry-mint` with `{"reason": "..."}`: 200 `{referenceId, status: "minting", retry}`. */
export function retryMintHandler(db: Kysely<Database>, onRetry: (ref: string, retry: number) => Promise<void>) {
  return async (c: Context<{ Variables: AuthVariables }>) => {
    const ref = identifier.safeParse(c.req.param("referenceId"));
    if (!ref.success) return c.json({ error: "no such order" }, 404);
    const parsed = await parseBody(c, retryInput);
    if ("response" in parsed) return parsed.response;
    c.set("auditDetail", { reason: parsed.data.reason });
    const outcome = await retryFailedMint(db, ref.data);
    if ("missing" in outcome) return c.json({ error: "no such order" }, 404);
    if ("conflict" in outcome) return c.json({ error: outcome.conflict }, 409);
    // After commit; a crash before the enqueue is mended by the same call again (see above).
    await onRetry(ref.data, outcome.retry);
    return c.json({ referenceId: ref.data, status: "minting", retry: outcome.retry });
  };
}
