import type { Kysely } from "kysely";
import { z } from "zod";
import type { KycAdapters, KycVerdict } from "../../clients/kyc/index.js";
import type { Database, KycProvider } from "../../db/schema.js";
import { DAY_SECONDS, defineQueue, type Processor } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";
import { applyKycOutcome, type KycDeps, type KycOutcome } from "./apply-outcome.js";
import { circuitCall } from "../../queues/provider-call.js";

/** Ask an investor's provider for its verdict (`kyc-status-<investor>.<run>`). */
export const kycStatusJobSchema = z.object({ investorId: z.string().min(1) });
export type KycStatusJob = z.output<typeof kycStatusJobSchema>;

/** One poll per investor and reconciliation run; a retried run adds none twice. */
export async function enqueueStatusPolls(queues: QueueSet, runMillis: number, investorIds: string[]): Promise<void> {
  if (investorIds.length === 0) return;
  await queues.queue(kycStatusQueue.name).addBulk(
    investorIds.map((investorId) => ({
      name: "status",
      data: { investorId } satisfies KycStatusJob,
      opts: { jobId: `kyc-status-${investorId}-${runMillis}` },
    })),
  );
}

/**
 * A verdict read from the provider's API (a poll, or the answer to the submission) as an
 * outcome. The event key is the verdict's own (`<verdictKey>:<channel>`), so reading the same
 * verdict again is a duplicate; a webhook of the same verdict, whenever it comes, carries the
 * same verdictKey and applyKycOutcome records it as a restatement.
 */
export const verdictOutcome = (provider: KycProvider, investorId: string, v: KycVerdict, channel: "poll" | "submit"): KycOutcome => ({
  source: provider,
  eventKey: `${v.verdictKey}:${channel}`,
  eventType: `${channel}/${v.eventType}`,
  investor: { by: "id", value: investorId },
  status: v.status,
  eventAt: v.eventAt,
  verdictKey: v.verdictKey,
  details: { ...v.details, ...(channel === "poll" ? { polled: true } : {}) },
});

/** Poll one investor's provider; applies through the same outcome step as the webhooks. */
export const kycStatusProcessor =
  (deps: KycDeps & { db: Kysely<Database>; adapters: KycAdapters }): Processor<KycStatusJob> =>
  async ({ investorId }, job, log, token) => {
    const investor = await deps.db
      .selectFrom("investors")
      .select(["id", "kyc_provider", "kyc_applicant_id", "kyc_status", "kyc_submission"])
      .where("id", "=", investorId)
      .executeTakeFirst();
    if (!investor?.kyc_provider || !investor.kyc_applicant_id) return { outcome: "no_applicant", investorId };
    // Settled since the run selected it (a webhook came): nothing to ask.
    if (investor.kyc_status !== "pending" && investor.kyc_status !== "in_review") return { outcome: "settled", investorId, status: investor.kyc_status };
    const adapter = deps.adapters[investor.kyc_provider];
    if (!adapter) return { outcome: "provider_off", investorId, provider: investor.kyc_provider };
    const applicantId = investor.kyc_applicant_id;
    const progress = investor.kyc_submission ?? {};
    const verdict = await circuitCall(() => adapter.status({ applicantId, investorId, progress }), adapter, job, token);
    if (verdict === "pending") return { outcome: "pending", investorId };
    const r = await applyKycOutcome(deps, verdictOutcome(investor.kyc_provider, investorId, verdict, "poll"), job.id);
    log.info({ investorId, kycStatus: verdict.status, applied: r.applied, duplicate: r.duplicate, released: r.released.length }, "KYC status polled");
    return r;
  };

/** `kyc-status`: one poll of one investor's provider, fanned out by the kyc-reconcile scheduler. */
export const kycStatusQueue = defineQueue({
  name: "kyc-status",
  schema: kycStatusJobSchema,
  attempts: 5,
  backoffMs: 10_000,
  keepCompletedSeconds: 7 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  processor: (deps: WorkerDeps) => kycStatusProcessor({ db: deps.db, queues: deps.queues, adapters: deps.kycAdapters }),
});
