import type { JumioClient, JumioWorkflowExecution } from "../../clients/jumio.js";
import { jumioStatus, jumioVerdictKey } from "../../clients/kyc/jumio.js";
import type { Processor } from "../../queues/queue-module.js";
import type { JumioJob, JumioPayload } from "../../server/webhooks/providers/jumio.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import type { WorkerDeps } from "../deps.js";
import { recordOutcome, type KycDeps, type KycOutcome } from "./apply-outcome.js";
import { providerCall } from "../../queues/provider-call.js";

/**
 * A callback and, for PROCESSED, the execution's details as retrieved, mapped by jumioStatus
 * (PASSED, REJECTED, WARNING, NOT_EXECUTED; ACQUIRED -> in review; other states no verdict). Its
 * verdict key is the poll's, so a status learned by polling and its callback apply once.
 */
export function mapJumio(p: JumioPayload, execution: JumioWorkflowExecution | undefined, receivedAt: string): KycOutcome | undefined {
  const state = p.workflowExecution.status;
  const decision = execution?.decision?.type;
  const status = jumioStatus(state, decision);
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
    verdictKey: jumioVerdictKey(p.workflowExecution.id, status),
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
