import { UnrecoverableError } from "bullmq";
import { sql, type Kysely } from "kysely";
import { z } from "zod";
import type { KycAdapters, KycSubmitContext } from "../../clients/kyc/index.js";
import type { Database } from "../../db/schema.js";
import { DAY_SECONDS, defineQueue, type Processor } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";
import { circuitCall } from "../../queues/provider-call.js";
import { applyKycOutcome, type KycDeps } from "./apply-outcome.js";
import { verdictOutcome } from "./status-poll.js";

/** Open an investor's application at its KYC provider (`kyc-application-<investor id>`). */
export const kycApplicationJobSchema = z.object({ investorId: z.string().min(1) });
export type KycApplicationJob = z.output<typeof kycApplicationJobSchema>;

export const kycApplicationJobId = (investorId: string) => `kyc-application-${investorId}`;

/** One job per investor, ever: the web process calls this after the insert, and an identical repeat of the create again. */
export async function enqueueKycApplication(queues: QueueSet, investorId: string): Promise<void> {
  await queues.queue(kycApplicationsQueue.name).add("application", { investorId } satisfies KycApplicationJob, { jobId: kycApplicationJobId(investorId) });
}

/**
 * The adapter's view of `investors.kyc_submission`: what earlier attempts stored, and a save
 * that merges into the column (one statement, so concurrent keys of one attempt never clobber),
 * and a claim that sets a key only where no attempt has (a conditional update: two attempts
 * racing, e.g. one whose lock expired, cannot both start the same create).
 */
export function submitContext(db: Kysely<Database>, investorId: string, stored: Record<string, string> | null): KycSubmitContext {
  return {
    progress: stored ?? {},
    async save(patch) {
      const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null));
      const drop = Object.keys(patch).filter((k) => patch[k] === null);
      await db
        .updateTable("investors")
        .set({
          kyc_submission: sql<string>`(coalesce(kyc_submission, '{}'::jsonb) - ${sql.val(drop)}::text[]) || ${JSON.stringify(set)}::jsonb`,
          updated_at: new Date(),
        })
        .where("id", "=", investorId)
        .execute();
    },
    async claim(key, value) {
      const claimed = await db
        .updateTable("investors")
        .set({ kyc_submission: sql<string>`coalesce(kyc_submission, '{}'::jsonb) || ${JSON.stringify({ [key]: value })}::jsonb`, updated_at: new Date() })
        .where("id", "=", investorId)
        .where(sql<boolean>`not coalesce(kyc_submission, '{}'::jsonb) ? ${key}`)
        .returning("id")
        .executeTakeFirst();
      return claimed !== undefined;
    },
  };
}

/**
 * Create the investor's applicant at the provider it chose, exactly once. An investor that
 * already has its applicant id is done (a redelivery does nothing). Otherwise the adapter's
 * submit is itself idempotent by our investor id: by the provider's own means (Sumsub:
 * externalUserId is unique, a second create answers 409 and the adapter returns the existing
 * applicant; Onfido: the workflow run is found by its tag) or by the progress it stores in
 * `kyc_submission` the moment the provider answers (./submit-once.ts in the clients), so a job
 * that crashed between the provider's answer and the write below finds the same applicant on
 * its retry. The write only fills an empty slot, so two racing attempts cannot store two
 * applicants. A verdict in the provider's answer (Trulioo's data check) is applied through the
 * same outcome step as a poll's, before the write: a retry after a crash between the two finds
 * the stored progress, gets the same verdict, and its event key makes the repeat a duplicate.
 */
export const kycApplicationProcessor =
  (deps: KycDeps & { adapters: KycAdapters }): Processor<KycApplicationJob> =>
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
        adapter.submit(
          {
            id: investor.id,
            firstName: investor.first_name,
            lastName: investor.last_name,
            dateOfBirth: investor.date_of_birth,
            nationality: investor.nationality,
          },
          submitContext(deps.db, investor.id, investor.kyc_submission),
        ),
      adapter,
      job,
      token,
    );
    const verdict = submission.verdict
      ? await applyKycOutcome(deps, verdictOutcome(investor.kyc_provider, investor.id, submission.verdict, "submit"), job.id)
      : undefined;
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
    return {
      outcome: stored ? "created" : "exists",
      investorId,
      applicantId: submission.applicantId,
      existing: submission.existing,
      ...(verdict ? { kycStatus: verdict.status, applied: verdict.applied } : {}),
    };
  };

/** `kyc-applications`: the outbound half of KYC, one job per investor created with a kycProvider. */
export const kycApplicationsQueue = defineQueue({
  name: "kyc-applications",
  schema: kycApplicationJobSchema,
  attempts: 8,
  backoffMs: 5_000,
  keepCompletedSeconds: 30 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  processor: (deps: WorkerDeps) => kycApplicationProcessor({ db: deps.db, queues: deps.queues, adapters: deps.kycAdapters }),
});
