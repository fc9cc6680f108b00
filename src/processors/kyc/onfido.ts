import { UnrecoverableError } from "bullmq";
import { onfidoRunVerdict } from "../../clients/kyc/onfido.js";
import { INVESTOR_TAG_PREFIX, type OnfidoCheck, type OnfidoClient, type OnfidoWorkflowRun } from "../../clients/onfido.js";
import type { KycStatus } from "../../db/schema.js";
import type { Processor } from "../../queues/queue-module.js";
import type { OnfidoJob, OnfidoPayload } from "../../server/webhooks/providers/onfido.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import type { WorkerDeps } from "../deps.js";
import { recordOutcome, type KycDeps, type KycOutcome } from "./apply-outcome.js";
import { providerCall } from "../../queues/provider-call.js";

/**
 * A completed check's result. `clear`: every report passed -> approved. `consider`: at least one
 * report needs a look. Onfido's own explanation of `consider` (support.onfido.com, "Why has the
 * result of the Identity Document Check returned as consider?") lists image quality, unsupported
 * documents and black-and-white copies next to signs of forgery, and says some of those flags
 * indicate no fraud: so it goes to a person -> in review, and the release of orders waits.
 */
const RESULT_STATUS: Record<"clear" | "consider", KycStatus> = { clear: "approved", consider: "in_review" };

/** The investor a check names, from the `investor:<id>` tag our side puts on it. */
export const investorOfCheck = (check: OnfidoCheck): string | undefined =>
  check.tags?.find((t) => t.startsWith(INVESTOR_TAG_PREFIX))?.slice(INVESTOR_TAG_PREFIX.length) || undefined;

/** Map a completed check (as the API returned it) to an outcome; undefined while it has no result. */
export function mapOnfidoCheck(check: OnfidoCheck, p: OnfidoPayload["payload"], receivedAt: string): KycOutcome | undefined {
  if (check.status !== "complete" || !check.result) return undefined;
  const investorId = investorOfCheck(check);
  // Not one of ours (created by hand on the dashboard?): no retry will find its investor.
  if (!investorId) throw new UnrecoverableError(`Onfido check ${check.id} has no ${INVESTOR_TAG_PREFIX}<id> tag`);
  const at = parseProviderTime(p.object.completed_at_iso8601) ?? new Date(receivedAt);
  return {
    source: "onfido",
    // The check and its result: check.completed and a report.completed that found the same
    // finished check are one event.
    eventKey: `onfido:check:${check.id}:${check.result}`,
    eventType: p.action,
    investor: { by: "id", value: investorId },
    status: RESULT_STATUS[check.result],
    eventAt: at,
    details: { checkId: check.id, applicantId: check.applicant_id, result: check.result },
  };
}

/**
 * A completed Studio workflow run (the outbound side creates one per investor), read from the
 * API: its status through the same mapping and verdict key as the poll, so a verdict learned by
 * polling and this webhook apply once. Investor: `customer_user_id`, else the investor tag.
 */
export function mapOnfidoRun(run: OnfidoWorkflowRun, p: OnfidoPayload["payload"], receivedAt: string): KycOutcome | undefined {
  const verdict = onfidoRunVerdict(run, new Date(receivedAt));
  if (verdict === "pending") return undefined;
  const investorId = run.customer_user_id || run.tags?.find((t) => t.startsWith(INVESTOR_TAG_PREFIX))?.slice(INVESTOR_TAG_PREFIX.length);
  if (!investorId) throw new UnrecoverableError(`Onfido workflow run ${run.id} has no customer_user_id`);
  return {
    source: "onfido",
    eventKey: `onfido:workflow_run:${run.id}:${run.status}`,
    eventType: p.action,
    investor: { by: "id", value: investorId },
    status: verdict.status,
    eventAt: parseProviderTime(p.object.completed_at_iso8601) ?? verdict.eventAt,
    verdictKey: verdict.verdictKey,
    details: verdict.details,
  };
}

/** Which check an event is about: a check event names it, a report event names its report. */
async function checkOf(onfido: OnfidoClient, p: OnfidoPayload["payload"]): Promise<OnfidoCheck | undefined> {
  if (p.action === "check.completed") return providerCall(() => onfido.getCheck(p.object.id));
  if (p.action === "report.completed") {
    const report = await providerCall(() => onfido.getReport(p.object.id));
    return providerCall(() => onfido.getCheck(report.check_id));
  }
  return undefined;
}

/**
 * `kyc-onfido`: check.completed and report.completed carry only the object's id, so the check
 * is read from Onfido's API; its result is the outcome. workflow_run.completed reads the run.
 * Other events carry no verdict.
 */
export const onfidoEventProcessor =
  (deps: KycDeps & { onfido: OnfidoClient }): Processor<OnfidoJob> =>
  async (data, job, log) => {
    const p = data.payload.payload;
    if (p.action === "workflow_run.completed") {
      const run = await providerCall(() => deps.onfido.getWorkflowRun(p.object.id));
      return recordOutcome(deps, mapOnfidoRun(run, p, data.receivedAt), job.id, log, { action: p.action, objectId: p.object.id, runStatus: run.status });
    }
    const check = await checkOf(deps.onfido, p);
    const outcome = check ? mapOnfidoCheck(check, p, data.receivedAt) : undefined;
    return recordOutcome(deps, outcome, job.id, log, { action: p.action, objectId: p.object.id, checkStatus: check?.status });
  };

/** Served only by a worker that has Onfido's API: without it the jobs wait in the queue. */
export const onfidoProcessor = (deps: WorkerDeps): Processor<OnfidoJob> | undefined =>
  deps.onfido ? onfidoEventProcessor({ db: deps.db, queues: deps.queues, onfido: deps.onfido }) : undefined;
