import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";
import type { QueueSet } from "../../queues/queue-set.js";
import { enqueueMint } from "./mint.js";
import { mintCarriers } from "./mint-batcher.js";

export type MintRetryOutcome = { retry: number } | { conflict: string } | { missing: true };

/** What an order's mint intent may have ended as for the order to be minted again: it minted nothing. */
const MINTED_NOTHING = new Set(["reverted", "failed"]);

/**
 * Mint a `mint_failed` order again once its cause is fixed (a Fireblocks policy that blocked
 * the call, a token paused between the simulation and the block): one database transaction,
 * conditional on `status = 'mint_failed'` with the order row locked, so of two concurrent
 * retries one lets the failed intents go and the other then finds that done (see below). The
 * intents that carried it must have ended `reverted` or `failed` (nothing was minted); they
 * are let go (`live = false`) and stay as they ended, and the order is `minting` again. Its
 * next mint is a new intent (`mint:<reference>:<n>`, or a new batch), queued after the commit
 * under its own job id. The same call on an order already let go and not yet carried by a new
 * intent answers the same retry again (and reruns its job if that gave up), so a caller whose
 * answer was lost can simply repeat it; once a new intent carries the order, a conflict.
 */
export async function retryFailedMint(db: Kysely<Database>, queues: QueueSet, ref: string): Promise<MintRetryOutcome> {
  const outcome = await db.transaction().execute(async (trx): Promise<MintRetryOutcome> => {
    const order = await trx.selectFrom("orders").select("status").where("reference_id", "=", ref).forUpdate().executeTakeFirst();
    if (!order) return { missing: true };
    if (order.status === "minting") {
      // A repeat of a retry whose answer (or enqueue) was lost: the order was let go of its
      // failed intents and has no new one yet. The same retry is queued again (same job id).
      const { live, retired } = await mintCarriers(trx, ref);
      if (!live && retired > 0) return { retry: retired };
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
      .set({ status: "minting", failure_reason: null, mint_tx_hash: null, updated_at: new Date() })
      .where("reference_id", "=", ref)
      .execute();
    return { retry: (await mintCarriers(trx, ref)).retired };
  });
  // After commit; a crash before the enqueue is mended by the same call again (see above).
  if ("retry" in outcome) await enqueueMint(queues, ref, undefined, outcome.retry);
  return outcome;
}
