import type { JumioClient, JumioWorkflowExecution } from "../../clients/jumio.js";
import type { KycStatus } from "../../db/schema.js";
import type { Processor } from "../../queues/queue-module.js";
import type { JumioJob, JumioPayload } from "../../server/webhooks/providers/jumio.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import type { WorkerDeps } from "../deps.js";
import { recordOutcome, type KycDeps, type KycOutcome } from "./apply-outcome.js";
import { providerCall } from "../../queues/provider-call.js";

/**
 * Jumio's workflow decision (`decision.type`): PASSED -> approved; REJECTED -> rejected;
 * WARNING (passed with findings Jumio leaves to the client's policy) -> in review; NOT_EXECUTED
 * (a capability could not run, e.g. unusable images) -> resubmission requested.
 */
const DECISION_STATUS: Record<string, KycStatus> = {
  PASSED: "approved",
  REJECTED: "rejected",
  WARNING: "in_review",
  NOT_EXECUTED: "resubmission_requested",
};

/**
 * A callback and, for PROCESSED, the execution's details as retrieved. ACQUIRED (the user has
 * handed in everything, processing started) -> in review; other states carry no verdict.
 */
export function mapJumio(p: JumioPayload, execution: JumioWorkflowExecution | undefined, receivedAt: string): KycOutcome | undefined {
  const state = p.workflowExecution.status;
  const decision = execution?.decision?.type;
  const status = state === "PROCESSED" ? (decision ? DECISION_STATUS[decision] : undefined) : state === "ACQUIRED" ? "in_review" : undefined;
  const investorId = p.userReference || execution?.workflow.userReference;
  if (!status || !investorId) return undefined;
  const at = parseProviderTime(p.callbackSentAt) ?? new Date(receivedAt);
  return {
    source: "jumio",
    eventKey: `jumio:${p.workflowExecution.id}:${state}:${decision ?? ""}`,
    eventType: state,
    investor: { by: "id", value: investorId },
    status,
    eventAt: at,
    details: {
      accountId: p.account.id,
      workflowExecutionId: p.workflowExecution.id,
      ...(decision ? { decision } : {}),
      ...(execution?.decision?.details?.label ? { decisionLabel: execution.decision.details.label } : {}),
    },
  };
}

/** `kyc-jumio`: a PROCESSED callback reads the decision from Jumio's retrieval API, then applies it. */
export const jumioCallbackProcessor =
  (deps: KycDeps & { jumio: JumioClient }): Processor<JumioJob> =>
  async (data, job, log) => {
    const p = data.payload;
    const execution =
      p.workflowExecution.status === "PROCESSED" ? await providerCall(() => deps.jumio.getWorkflowExecution(p.account.id, p.workflowExecution.id)) : undefined;
    return recordOutcome(deps, mapJumio(p, execution, data.receivedAt), job.id, log, {
      state: p.workflowExecution.status,
      decision: execution?.decision?.type,
    });
  };

/** Served only by a worker that has Jumio's API: without it the callbacks wait in the queue. */
export const jumioProcessor = (deps: WorkerDeps): Processor<JumioJob> | undefined =>
  deps.jumio ? jumioCallbackProcessor({ db: deps.db, queues: deps.queues, jumio: deps.jumio }) : undefined;
