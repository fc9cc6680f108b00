import { DelayedError } from "bullmq";
import { z } from "zod";
import { circuitCall } from "../../queues/provider-call.js";
import { DAY_SECONDS, defineQueue } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";
import { NotYetError, runDistribution } from "./run-distribution.js";

export const payoutJobSchema = z.object({ distributionId: z.string().min(1) });
export type PayoutJob = z.output<typeof payoutJobSchema>;

/** One payout job per distribution, ever: a second `due` run while it waits or runs adds nothing. */
export const payoutJobId = (distributionId: string) => `dividend-${distributionId}`;

/** Queue these distributions' payouts. */
export async function enqueuePayouts(queues: QueueSet, distributionIds: string[]): Promise<void> {
  if (distributionIds.length === 0) return;
  await queues
    .queue(dividendPayoutsQueue.name)
    .addBulk(
      distributionIds.map((distributionId) => ({ name: "pay", data: { distributionId } satisfies PayoutJob, opts: { jobId: payoutJobId(distributionId) } })),
    );
}

/**
 * `dividend-payouts`: run one distribution to completion, resuming from what Postgres holds.
 * A distribution that cannot start yet (payment date ahead, record block not mined) waits
 * without spending an attempt. Needs a chain.
 */
export const dividendPayoutsQueue = defineQueue({
  name: "dividend-payouts",
  schema: payoutJobSchema,
  attempts: 10,
  backoffMs: 5_000,
  keepCompletedSeconds: 60 * DAY_SECONDS,
  keepFailedSeconds: 60 * DAY_SECONDS,
  processor: ({ db, chain, config, log: processLog, fireblocks }: WorkerDeps) => {
    if (!chain) return undefined;
    const run = {
      db,
      sender: chain.sender,
      publicClient: chain.clients.publicClient,
      batchContract: config.DIVIDEND_BATCH_CONTRACT,
      batchSize: config.DIVIDEND_BATCH_SIZE,
      payoutConcurrency: config.DIVIDEND_PAYOUT_CONCURRENCY,
      logChunkBlocks: config.DIVIDEND_LOG_CHUNK_BLOCKS,
      log: processLog,
    };
    return async ({ distributionId }, job, log, token) => {
      try {
        // Under SIGNER_BACKEND=fireblocks an open Fireblocks breaker postpones the run without spending an attempt.
        return await circuitCall(() => runDistribution({ ...run, log }, distributionId), fireblocks ?? {}, job, token);
      } catch (err) {
        if (!(err instanceof NotYetError)) throw err;
        // Not a failure: wait without spending an attempt.
        log.info({ distributionId, retryAt: new Date(err.retryAt).toISOString() }, err.message);
        await job.moveToDelayed(Math.max(err.retryAt, Date.now() + 1_000), token);
        throw new DelayedError();
      }
    };
  },
});
