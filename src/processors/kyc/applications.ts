import { UnrecoverableError } from "bullmq";
import type { Kysely } from "kysely";
import { z } from "zod";
import type { KycAdapters } from "../../clients/kyc/index.js";
import type { Database } from "../../db/schema.js";
import { DAY_SECONDS, defineQueue, type Processor } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";
import { circuitCall } from "../../queues/provider-call.js";

/** Open an investor's application at its KYC provider (`kyc-application-<investor id>`). */
export const kycApplicationJobSchema = z.object({ investorId: z.string().min(1) });
export type KycApplicationJob = z.output<typeof kycApplicationJobSchema>;

export const kycApplicationJobId = (investorId: string) => `kyc-application-${investorId}`;

/** One job per investor, ever: the web process calls this after the insert, and an identical repeat of the create again. */
export async function enqueueKycApplication(queues: QueueSet, investorId: string): Promise<void> {
  await queues.queue(kycApplicationsQueue.name).add("application", { investorId } satisfies KycApplicationJob, { jobId: kycApplicationJobId(investorId) });
}

/**
 * Create the investor's applicant at the provider it chose, exactly once. An investor that
 * already has its applicant id is done (a redelivery does nothing). Otherwise the adapter's
 * submit is itself idempotent by our investor id (Sumsub: externalUserId is unique, a second
 * create answers 409 and the adapter returns the existing applicant), so a job that crashed
 * between the provider's answer and the write below finds the same applicant on its retry.
 * The write only fills an empty slot, so two racing attempts cannot store two applicants.
 */
export const kycApplicationProcessor =
  (deps: { db: Kysely<Database>; adapters: KycAdapters }): Processor<KycApplicationJob> =>
  async ({ investorId }, job, log, token) => {
    const investor = await deps.db.selectFrom("investors").selectAll().where("id", "=", investorId).executeTakeFirst();
    if (!investor) throw new UnrecoverableError(`no investor ${investorId}`);
    if (!investor.kyc_provider) return { outcome: "no_provider", investorId };
    if (investor.kyc_applicant_id) return { outcome: "exists", investorId, applicantId: investor.kyc_applicant_id };
    const adapter = deps.adapters[investor.kyc_provider];
    // Not configured in this deployment: a retry cannot fix that; replay the dead letter once it is.
    if (!adapter) throw new UnrecoverableError(`KYC provider ${investor.kyc_provider} has no API configured for outbound applications`);
    const submission = await circuitCall(
      () =>
        adapter.submit({
          id: investor.id,
          firstName: investor.first_name,
          lastName: investor.last_name,
          dateOfBirth: investor.date_of_birth,
          nationality: investor.nationality,
        }),
      adapter,
      job,
      token,
    );
    const stored = await deps.db
      .updateTable("investors")
      .set({
        kyc_applicant_id: submission.applicantId,
        kyc_verification_url: submission.verificationUrl,
        kyc_submitted_at: new Date(),
        updated_at: new Date(),
      })
      .where("id", "=", investor.id)
      .where("kyc_applicant_id", "is", null)
      .returning("kyc_applicant_id")
      .executeTakeFirst();
    log.info(
      { investorId, provider: investor.kyc_provider, applicantId: submission.applicantId, existing: submission.existing, stored: stored !== undefined },
      "KYC applicant created",
    );
    return { outcome: stored ? "created" : "exists", investorId, applicantId: submission.applicantId, existing: submission.existing };
  };

/** `kyc-applications`: the outbound half of KYC, one job per investor created with a kycProvider. */
export const kycApplicationsQueue = defineQueue({
  name: "kyc-applications",
  schema: kycApplicationJobSchema,
  attempts: 8,
  backoffMs: 5_000,
  keepCompletedSeconds: 30 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  processor: (deps: WorkerDeps) => kycApplicationProcessor({ db: deps.db, adapters: deps.kycAdapters }),
});
