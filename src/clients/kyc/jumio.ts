import type { KycStatus } from "../../db/schema.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import type { JumioClient, JumioWorkflowExecution } from "../jumio.js";
import type { KycAdapter, KycVerdict } from "./adapter.js";
import { createOnce } from "./submit-once.js";

/**
 * Jumio's workflow decision (`decision.type`): PASSED -> approved; REJECTED -> rejected;
 * WARNING (passed with findings Jumio leaves to the client's policy) -> in review; NOT_EXECUTED
 * (a capability could not run, e.g. unusable images) -> resubmission requested.
 */
export const JUMIO_DECISION_STATUS: Readonly<Record<string, KycStatus>> = {
  PASSED: "approved",
  REJECTED: "rejected",
  WARNING: "in_review",
  NOT_EXECUTED: "resubmission_requested",
};

/**
 * A workflow execution's state and decision in our terms: PROCESSED carries the decision;
 * ACQUIRED (everything handed in, processing started) is in review; other states (INITIATED,
 * SESSION_EXPIRED, TOKEN_EXPIRED) no verdict. The webhook mapper and the poll both use this.
 */
export function jumioStatus(state: string, decision: string | undefined): KycStatus | undefined {
  if (state === "PROCESSED") return decision ? JUMIO_DECISION_STATUS[decision] : undefined;
  return state === "ACQUIRED" ? "in_review" : undefined;
}

/** The verdict key of one execution's status, shared by the callback processor and the poll. */
export const jumioVerdictKey = (workflowExecutionId: string, status: KycStatus) => `jumio:${workflowExecutionId}:${status}`;

/** An execution as the retrieval API returns it, as a verdict, or "pending". */
export function jumioVerdict(e: JumioWorkflowExecution, now: Date): KycVerdict | "pending" {
  const decision = e.decision?.type;
  const status = jumioStatus(e.workflow.status, decision);
  if (!status) return "pending";
  return {
    status,
    verdictKey: jumioVerdictKey(e.workflow.id, status),
    eventAt: parseProviderTime(e.completedAt) ?? parseProviderTime(e.createdAt) ?? now,
    eventType: `execution:${e.workflow.status}`,
    details: {
      accountId: e.account.id,
      workflowExecutionId: e.workflow.id,
      ...(decision ? { decision } : {}),
      ...(e.decision?.details?.label ? { decisionLabel: e.decision.details.label } : {}),
    },
  };
}

/**
 * Jumio's outbound side: `POST /api/v1/accounts` (OAuth2 bearer) with our investor id as
 * `customerInternalReference` and `userReference`, the workflow definition key and the link's
 * `tokenLifetime` (JUMIO_LINK_LIFETIME; Jumio's default of 30 minutes is too short for a link
 * sent to the investor); the answer's `web.href` is the web client link the investor opens, the account and workflow execution ids
 * are what the retrieval API reads. Jumio offers no idempotency key and no lookup of an account
 * by reference, so the create goes through createOnce (./submit-once.ts): the ids are stored the
 * moment Jumio answers, and an attempt whose answer was lost is not repeated blindly.
 */
export function createJumioAdapter(jumio: JumioClient, opts: { workflowKey: number; linkLifetimeMs: number; now?: () => number }): KycAdapter {
  const now = opts.now ?? Date.now;
  return {
    provider: "jumio",
    async submit(i, ctx) {
      const { value, existing } = await createOnce(ctx, {
        key: "accountCreate",
        what: "Jumio account",
        reference: (since) => `customerInternalReference ${i.id}, created from ${since} on`,
        stored: (p) =>
          p.accountId && p.workflowExecutionId && p.webHref
            ? { accountId: p.accountId, workflowExecutionId: p.workflowExecutionId, webHref: p.webHref }
            : undefined,
        create: async () => {
          const a = await jumio.createAccount({
            customerInternalReference: i.id,
            userReference: i.id,
            workflowKey: opts.workflowKey,
            tokenLifetime: `${Math.floor(opts.linkLifetimeMs / 1000)}s`,
          });
          return { accountId: a.account.id, workflowExecutionId: a.workflowExecution.id, webHref: a.web.href };
        },
        toProgress: (v) => v,
      });
      return { applicantId: value.accountId, verificationUrl: value.webHref, existing };
    },
    async status({ applicantId, progress }) {
      if (!progress.workflowExecutionId) return "pending";
      return jumioVerdict(await jumio.getWorkflowExecution(applicantId, progress.workflowExecutionId), new Date(now()));
    },
  };
}
