import type { KycStatus } from "../../db/schema.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import { INVESTOR_TAG_PREFIX, type OnfidoClient, type OnfidoWorkflowRun } from "../onfido.js";
import type { KycAdapter, KycSubmission, KycVerdict } from "./adapter.js";
import { createOnce } from "./submit-once.js";

/**
 * A Studio workflow run's status (https://documentation.onfido.com, "Workflow runs") in our
 * terms: `approved` / `declined` are the workflow's verdict; `review` (a person at Onfido or on
 * our side decides) and `processing` (Onfido runs the verifications) are in review;
 * `awaiting_client_input` waits for a task of ours, also in review. `awaiting_input` (the
 * investor has not finished), `abandoned` and `error` are no verdict.
 */
const RUN_STATUS: Record<string, KycStatus> = {
  approved: "approved",
  declined: "rejected",
  review: "in_review",
  processing: "in_review",
  awaiting_client_input: "in_review",
};

export const investorTag = (investorId: string) => `${INVESTOR_TAG_PREFIX}${investorId}`;

/** The verdict key of a run's status, shared by the poll and the workflow_run.completed webhook. */
export const onfidoRunVerdictKey = (runId: string, status: KycStatus) => `onfido:run:${runId}:${status}`;

/** A workflow run as a verdict, or "pending" while it has none. */
export function onfidoRunVerdict(run: OnfidoWorkflowRun, now: Date): KycVerdict | "pending" {
  const status = run.status ? RUN_STATUS[run.status] : undefined;
  if (!status) return "pending";
  return {
    status,
    verdictKey: onfidoRunVerdictKey(run.id, status),
    eventAt: parseProviderTime(run.updated_at) ?? parseProviderTime(run.created_at) ?? now,
    eventType: `workflow_run:${run.status}`,
    details: { workflowRunId: run.id, applicantId: run.applicant_id, runStatus: run.status, ...(run.reasons?.length ? { reasons: run.reasons } : {}) },
  };
}

const submission = (run: OnfidoWorkflowRun, existing: boolean): KycSubmission => ({
  applicantId: run.applicant_id,
  verificationUrl: run.link?.url ?? null,
  existing,
});

/**
 * Onfido's outbound side (API v3.6, `Authorization: Token token=...`): an applicant
 * (`POST /applicants` with names and date of birth), then a Studio workflow run for it
 * (`POST /workflow_runs` with the workflow id, `customer_user_id` = our investor id and the tag
 * `investor:<id>`), whose `link.url` is the hosted flow the investor opens.
 *
 * Exactly once: the run is found again by its tag (`GET /workflow_runs?tags=investor:<id>`)
 * before one is created, so a retry after a lost answer reuses it. An applicant cannot be looked
 * up by our id (v3.6 has no field for it), so its id is stored the moment Onfido answers and
 * its create goes through createOnce (./submit-once.ts). Status: `GET /workflow_runs/{id}`.
 */
export function createOnfidoAdapter(onfido: OnfidoClient, opts: { workflowId: string; now?: () => number }): KycAdapter {
  const now = opts.now ?? Date.now;
  const runOf = async (investorId: string, runId: string | undefined) =>
    runId ? await onfido.getWorkflowRun(runId) : (await onfido.findWorkflowRuns([investorTag(investorId)]))[0];
  return {
    provider: "onfido",
    async submit(i, ctx) {
      const found = await runOf(i.id, ctx.progress.workflowRunId);
      if (found) {
        if (!ctx.progress.workflowRunId) await ctx.save({ workflowRunId: found.id, applicantId: found.applicant_id });
        return submission(found, true);
      }
      const applicant = await createOnce(ctx, {
        key: "applicantCreate",
        what: "Onfido applicant",
        reference: (since) => `an applicant created from ${since} on, with no workflow run`,
        stored: (p) => p.applicantId,
        create: async () => (await onfido.createApplicant({ first_name: i.firstName, last_name: i.lastName, dob: i.dateOfBirth })).id,
        toProgress: (id) => ({ applicantId: id }),
      });
      const run = await onfido.createWorkflowRun({
        workflow_id: opts.workflowId,
        applicant_id: applicant.value,
        customer_user_id: i.id,
        tags: [investorTag(i.id)],
      });
      await ctx.save({ workflowRunId: run.id });
      return submission(run, applicant.existing);
    },
    async status({ investorId, progress }) {
      const run = await runOf(investorId, progress.workflowRunId);
      return run ? onfidoRunVerdict(run, new Date(now())) : "pending";
    },
  };
}
