import type { Address } from "viem";
import { z } from "zod";
import { DAY_SECONDS, defineQueue } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";
import { settleOrder } from "./settlement.js";

/** Settle one `settling` order; one job per time the order entered `settling` (`dvp-<reference>-<run>`). */
export const dvpSettlementJobSchema = z.object({
  referenceId: z.string().min(1),
  run: z.number().int().nonnegative(),
});
export type DvpSettlementJob = z.output<typeof dvpSettlementJobSchema>;

/**
 * `dvp-settlements`: submit a stablecoin order's `settle` through the exactly-once sender
 * (intent key `dvp:<reference>`). The job ends once the transaction is broadcast, or the
 * order went back to waiting; the chain monitor completes the order when the settlement has
 * `CHAIN_CONFIRMATIONS` (see `dvpFinality`). Needs a chain and DVP_CONTRACT.
 */
export const dvpSettlementsQueue = defineQueue({
  name: "dvp-settlements",
  schema: dvpSettlementJobSchema,
  attempts: 10,
  backoffMs: 2_000,
  keepCompletedSeconds: 7 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  processor: ({ db, chain, config }: WorkerDeps) => {
    if (!chain || !config.DVP_CONTRACT) return undefined;
    const deps = {
      db,
      sender: chain.sender,
      publicClient: chain.clients.publicClient,
      dvp: config.DVP_CONTRACT as Address,
      cashReceiver: (config.DVP_CASH_RECEIVER ?? chain.sender.address) as Address,
    };
    return async ({ referenceId }, _job, log) => {
      const result = await settleOrder(deps, referenceId);
      log.info({ referenceId, ...result }, "stablecoin settlement attempt");
      return result;
    };
  },
});

/** Queue an order's settlement for its current run; the job id makes a repeat a no-op. */
export async function enqueueSettlement(queues: QueueSet, referenceId: string, run: number): Promise<void> {
  const data: DvpSettlementJob = { referenceId, run };
  await queues.queue(dvpSettlementsQueue.name).add("settle", data, { jobId: `dvp-${referenceId}-${run}` });
}
