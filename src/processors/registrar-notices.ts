import { DelayedError, UnrecoverableError } from "bullmq";
import { sql, type Kysely } from "kysely";
import type { PublicClient } from "viem";
import type { Database } from "../db/schema.js";
import { ProviderError } from "../providers/complyadvantage.js";
import type { RegistrarClient } from "../providers/registrar.js";
import type { Processor } from "./types.js";

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
}): Processor<{ distributionId: string }> {
  return async (job, log, token) => {
    const { distributionId } = job.data;
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
        .set({ registrar_notice_status: "accepted", registrar_reference: reference, registrar_error: null, registrar_notified_at: sql<Date>`now()`, updated_at: new Date() })
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
