import { DelayedError, UnrecoverableError } from "bullmq";
import { sql, type Kysely } from "kysely";
import type { PublicClient } from "viem";
import { z } from "zod";
import { ProviderError } from "../../clients/http-error.js";
import type { RegistrarClient } from "../../clients/registrar.js";
import type { Database } from "../../db/schema.js";
import { DAY_SECONDS, defineQueue, type Processor } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";

/** Send one distribution's corporate-action notice to the registrar (`registrar-notice-<id>`). */
export const registrarNoticeJobSchema = z.object({ distributionId: z.string().min(1) });
export type RegistrarNoticeJob = z.output<typeof registrarNoticeJobSchema>;

export const registrarNoticeJobId = (distributionId: string) => `registrar-notice-${distributionId}`;

/** Queue these distributions' notices; one job per distribution, ever. */
export async function enqueueRegistrarNotices(queues: QueueSet, distributionIds: string[]): Promise<void> {
  if (distributionIds.length === 0) return;
  await queues.queue(registrarNoticesQueue.name).addBulk(
    distributionIds.map((distributionId) => ({
      name: "notice",
      data: { distributionId } satisfies RegistrarNoticeJob,
      opts: { jobId: registrarNoticeJobId(distributionId) },
    })),
  );
}

/**
 * Send a distribution's corporate-action notice to the registrar and record its answer. The
 * Idempotency-Key was fixed when the distribution was declared and the body is built only
 * from stored fields, so every retry is the same request: the registrar records it once.
 * The record date is the record block's timestamp; until that block is mined the notice
 * waits (without spending attempts).
 */
export function registrarNoticeProcessor(deps: {
  db: Kysely<Database>;
  registrar: RegistrarClient;
  publicClient: Pick<PublicClient, "getBlock">;
}): Processor<RegistrarNoticeJob> {
  return async ({ distributionId }, job, log, token) => {
    const dist = await deps.db.selectFrom("distributions").selectAll().where("id", "=", distributionId).executeTakeFirst();
    if (!dist) throw new UnrecoverableError(`no distribution ${distributionId}`);
    if (dist.registrar_notice_status !== "pending") return { status: dist.registrar_notice_status, reference: dist.registrar_reference };

    let recordDate: string;
    try {
      const block = await deps.publicClient.getBlock({ blockNumber: BigInt(dist.record_block) });
      recordDate = new Date(Number(block.timestamp) * 1000).toISOString();
    } catch (err) {
      if ((err as Error).name !== "BlockNotFoundError") throw err;
      log.info({ distributionId, recordBlock: dist.record_block }, "record block not mined yet; notice waits");
      await job.moveToDelayed(Date.now() + 30_000, token);
      throw new DelayedError();
    }

    await deps.db
      .updateTable("distributions")
      .set((eb) => ({ registrar_attempts: eb("registrar_attempts", "+", 1) }))
      .where("id", "=", distributionId)
      .execute();
    try {
      const { reference } = await deps.registrar.notify(
        {
          tokenAddress: dist.token_address,
          actionType: "dividend",
          recordDate,
          paymentDate: dist.payment_date.toISOString(),
          recordBlock: dist.record_block,
          clientReference: dist.id,
          timestamp: dist.created_at.toISOString(),
        },
        dist.registrar_idempotency_key,
      );
      await deps.db
        .updateTable("distributions")
        .set({
          registrar_notice_status: "accepted",
          registrar_reference: reference,
          registrar_error: null,
          registrar_notified_at: sql<Date>`now()`,
          updated_at: new Date(),
        })
        .where("id", "=", distributionId)
        .where("registrar_notice_status", "=", "pending")
        .execute();
      log.info({ distributionId, reference }, "registrar accepted the corporate-action notice");
      return { status: "accepted", reference };
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof ProviderError && !err.retryable) {
        await deps.db
          .updateTable("distributions")
          .set({ registrar_notice_status: "rejected", registrar_error: message, updated_at: new Date() })
          .where("id", "=", distributionId)
          .execute();
        throw new UnrecoverableError(message);
      }
      await deps.db.updateTable("distributions").set({ registrar_error: message }).where("id", "=", distributionId).execute();
      throw err;
    }
  };
}

/** `registrar-notices`: retried until the registrar accepts; 15 attempts from 1 s doubling span about nine hours. Needs a chain and the registrar API. */
export const registrarNoticesQueue = defineQueue({
  name: "registrar-notices",
  schema: registrarNoticeJobSchema,
  attempts: 15,
  backoffMs: 1_000,
  keepCompletedSeconds: 60 * DAY_SECONDS,
  keepFailedSeconds: 60 * DAY_SECONDS,
  processor: ({ db, chain, registrar }: WorkerDeps) =>
    chain && registrar ? registrarNoticeProcessor({ db, registrar, publicClient: chain.clients.publicClient }) : undefined,
});
