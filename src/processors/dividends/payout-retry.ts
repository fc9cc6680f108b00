import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";
import { addOrRerun } from "../../queues/add-or-rerun.js";
import type { QueueSet } from "../../queues/queue-set.js";
import { dividendPayoutsQueue, type PayoutJob, payoutJobId } from "./payouts.js";

export type PayoutRetryOutcome = { intents: string[] } | { conflict: string } | { missing: true };

/** What a payout's intent may have ended as for its lines to be paid again: it paid nothing. */
const PAID_NOTHING = new Set(["reverted", "failed"]);

const RETRIED = /^(.*)-retry-(\d+)$/;

/** The next generation of a payout intent key: `<key>-retry-1`, then `-retry-2`, ... */
export function retriedIntentKey(key: string): string {
  const m = RETRIED.exec(key);
  return m ? `${m[1]}-retry-${Number(m[2]) + 1}` : `${key}-retry-1`;
}

/**
 * Pay again the lines of a `paying` distribution whose payout transaction paid nothing (it
 * reverted on chain, say a holder frozen or the treasury drained between the simulation and
 * the block; or Fireblocks ended it before the chain). Intents are keyed, so replaying the
 * run would only find the same reverted intent: in one transaction, with the distribution
 * row locked, each such batch's pending lines move to a new intent key (`-retry-<n>`); the old
 * intent stays as it ended. After the commit the distribution's payout job runs again and
 * sends only those batches (every other line is paid or carried by a live intent).
 *
 * The same call once the lines are re-keyed and their new intents not yet sent answers the
 * same keys again (and reruns the job if it gave up), so a caller whose answer was lost can
 * repeat it; once every retried intent is on its way, a conflict.
 */
export async function retryFailedPayouts(db: Kysely<Database>, queues: QueueSet, distributionId: string): Promise<PayoutRetryOutcome> {
  const outcome = await db.transaction().execute(async (trx): Promise<PayoutRetryOutcome> => {
    const dist = await trx.selectFrom("distributions").select("status").where("id", "=", distributionId).forUpdate().executeTakeFirst();
    if (!dist) return { missing: true };
    if (dist.status !== "paying") return { conflict: `distribution ${distributionId} is ${dist.status}, not paying; nothing changed` };
    const carriers = await trx
      .selectFrom("distribution_lines as l")
      .leftJoin("chain_transactions as t", "t.intent_key", "l.intent_key")
      .select(["l.intent_key", "t.status"])
      .distinct()
      .where("l.distribution_id", "=", distributionId)
      .where("l.status", "=", "pending")
      .execute();
    if (carriers.length === 0) return { conflict: `distribution ${distributionId} has no unpaid lines; nothing changed` };
    const dead = carriers.filter((c) => c.status !== null && PAID_NOTHING.has(c.status));
    if (dead.length === 0) {
      // A repeat of a retry whose answer (or enqueue) was lost: re-keyed lines not sent yet.
      const waiting = carriers.filter((c) => c.status === null && RETRIED.test(c.intent_key)).map((c) => c.intent_key);
      if (waiting.length > 0) return { intents: waiting.sort() };
      const live = carriers.find((c) => c.status !== null);
      return {
        conflict: live
          ? `distribution ${distributionId}'s payout ${live.intent_key} is ${live.status}, not reverted or failed; nothing changed`
          : `distribution ${distributionId} has no reverted or failed payout; nothing changed`,
      };
    }
    const intents: string[] = [];
    for (const { intent_key } of dead) {
      const next = retriedIntentKey(intent_key);
      await trx
        .updateTable("distribution_lines")
        .set({ intent_key: next })
        .where("distribution_id", "=", distributionId)
        .where("intent_key", "=", intent_key)
        .where("status", "=", "pending")
        .execute();
      intents.push(next);
    }
    return { intents: intents.sort() };
  });
  // After commit; a crash before this is mended by the same call again (see above).
  // Waiting, delayed or running, the job reads the re-keyed lines itself; failed, it runs again.
  if ("intents" in outcome)
    await addOrRerun(queues.queue(dividendPayoutsQueue.name), "pay", { distributionId } satisfies PayoutJob, payoutJobId(distributionId));
  return outcome;
}
