import { UnrecoverableError } from "bullmq";
import { Counter } from "prom-client";
import { metricsOnce, type Metrics } from "../../metrics.js";
import type { Processor } from "../../queues/queue-module.js";
import type { SepaReportJob } from "../../server/webhooks/providers/sepa.js";
import type { NotifiedMovement, StatusReport } from "../../server/webhooks/providers/sepa-reports.js";
import type { Logger } from "../../log.js";
import { applyFailedPayment } from "../orders/order-payments.js";
import { payAndMint, type PaymentDeps } from "../orders/payments.js";

export interface SepaReportDeps extends PaymentDeps {
  metrics: Metrics;
}

/** Counters by ISO 20022 reason code; the alert rules (ops/prometheus/alerts.yml) watch them. */
export const sepaMetrics = (metrics: Metrics) =>
  metricsOnce(metrics.registry, "sepa", (r) => ({
    rejected: new Counter({
      name: "hookrail_sepa_debits_rejected_total",
      help: "SEPA debits the bank rejected (pain.002), by reason code",
      labelNames: ["reason"],
      registers: [r],
    }),
    returned: new Counter({
      name: "hookrail_sepa_debits_returned_total",
      help: "SEPA debits returned or refunded after settlement (camt.054 R-transactions), by reason code and whether the order was already minted",
      labelNames: ["reason", "stage"],
      registers: [r],
    }),
    settled: new Counter({ name: "hookrail_sepa_debits_settled_total", help: "SEPA debits credited to the creditor account (camt.054)", registers: [r] }),
  }));

type Outcome = { endToEndId: string; outcome: string };

/** The debit an EndToEndId names, with its order; undefined for a movement that is not one of ours. */
async function debitOf(deps: PaymentDeps, endToEndId: string) {
  return deps.db.selectFrom("sepa_debits").select(["id", "order_reference", "status"]).where("end_to_end_id", "=", endToEndId).executeTakeFirst();
}

/** A rejected debit fails its order with the reason code; counted once, when the debit turns rejected. */
async function applyRejection(deps: SepaReportDeps, endToEndId: string, reason: string): Promise<Outcome> {
  const debit = await debitOf(deps, endToEndId);
  if (!debit) return { endToEndId, outcome: "unknown_debit" };
  const turned = await deps.db
    .updateTable("sepa_debits")
    .set({ status: "rejected", reason_code: reason, updated_at: new Date() })
    .where("id", "=", debit.id)
    .where("status", "in", ["pending", "submitted"])
    .returning("id")
    .executeTakeFirst();
  if (turned) sepaMetrics(deps.metrics).rejected.inc({ reason });
  const order = await applyFailedPayment(deps.db, {
    source: "bank",
    referenceId: debit.order_reference,
    proof: endToEndId,
    reason: `SEPA debit rejected, reason ${reason}`,
  });
  return { endToEndId, outcome: turned ? `rejected (order ${order})` : "already_rejected" };
}

async function applyStatusReport(deps: SepaReportDeps, r: StatusReport): Promise<Outcome[]> {
  const rejected = new Map<string, string>();
  if (r.groupStatus === "RJCT") {
    // The whole file: every debit it carried.
    const all = await deps.db
      .selectFrom("sepa_debits as d")
      .innerJoin("sepa_collections as c", "c.id", "d.collection_id")
      .select("d.end_to_end_id")
      .where("c.msg_id", "=", r.originalMsgId)
      .execute();
    for (const d of all) rejected.set(d.end_to_end_id, r.groupReason ?? "RJCT");
  }
  for (const t of r.transactions) if (t.status === "RJCT") rejected.set(t.endToEndId, t.reason ?? r.groupReason ?? "RJCT");
  const out: Outcome[] = [];
  for (const [e2e, reason] of rejected) out.push(await applyRejection(deps, e2e, reason));
  return out;
}

/** A collected debit credited: the order is paid through the bank payment path (amount and currency must match) and minted. */
async function applyCredit(deps: SepaReportDeps, m: NotifiedMovement, receivedAt: string): Promise<Outcome> {
  const debit = await debitOf(deps, m.endToEndId);
  if (!debit) return { endToEndId: m.endToEndId, outcome: "unknown_debit" };
  const paidAt = m.bookingDate ? new Date(`${m.bookingDate}T00:00:00Z`) : new Date(receivedAt);
  const outcome = await payAndMint(
    deps,
    { source: "bank", referenceId: debit.order_reference, amount: m.amount, currency: m.currency, proof: m.endToEndId, paidAt },
    receivedAt,
  );
  const turned = await deps.db
    .updateTable("sepa_debits")
    .set({ status: "settled", updated_at: new Date() })
    .where("id", "=", debit.id)
    .where("status", "in", ["pending", "submitted"])
    .returning("id")
    .executeTakeFirst();
  if (turned) sepaMetrics(deps.metrics).settled.inc();
  return { endToEndId: m.endToEndId, outcome };
}

/**
 * An R-transaction (return, refund such as MD06 within 8 weeks): money that was collected went
 * back to the debtor. Before the mint the order fails (nothing minted, nothing to undo); once
 * minted (or minting) it is flagged for a person: tokens are never burnt automatically.
 */
async function applyReturn(deps: SepaReportDeps, m: NotifiedMovement, log: Logger): Promise<Outcome> {
  const debit = await debitOf(deps, m.endToEndId);
  if (!debit) return { endToEndId: m.endToEndId, outcome: "unknown_debit" };
  const reason = m.returnReason ?? "UNKNOWN";
  const result = await deps.db.transaction().execute(async (trx) => {
    const order = await trx
      .selectFrom("orders")
      .select(["status", "mint_tx_hash"])
      .where("reference_id", "=", debit.order_reference)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const turned = await trx
      .updateTable("sepa_debits")
      .set({ status: "returned", reason_code: reason, updated_at: new Date() })
      .where("id", "=", debit.id)
      .where("status", "!=", "returned")
      .returning("id")
      .executeTakeFirst();
    if (!turned) return { outcome: "already_returned" };
    const minted = order.status === "completed" || order.status === "minting";
    const what = `SEPA debit ${m.endToEndId} returned by the debtor's bank, reason ${reason}${m.bookingDate ? ` (booked ${m.bookingDate})` : ""}`;
    if (minted) {
      await trx
        .updateTable("orders")
        .set({
          status: "flagged",
          flag_reason: `${what} after the order was ${order.status === "completed" ? `minted (${order.mint_tx_hash})` : "sent to mint"}; tokens were not burnt: needs a person`,
          updated_at: new Date(),
        })
        .where("reference_id", "=", debit.order_reference)
        .execute();
    } else if (order.status === "pending" || order.status === "awaiting_kyc" || order.status === "mint_failed") {
      // Nothing was minted: the money going back ends the order (and no retry of its mint can follow).
      await trx
        .updateTable("orders")
        .set({ status: "failed", failure_reason: what, updated_at: new Date() })
        .where("reference_id", "=", debit.order_reference)
        .execute();
    }
    return { outcome: minted ? "flagged" : `returned (order ${order.status})`, stage: minted ? "after_mint" : "before_mint" };
  });
  if (result.stage) {
    sepaMetrics(deps.metrics).returned.inc({ reason, stage: result.stage });
    if (result.stage === "after_mint") log.warn({ referenceId: debit.order_reference, reason }, "SEPA return after mint: order flagged for review");
  }
  return { endToEndId: m.endToEndId, outcome: result.outcome };
}

const isReturn = (m: NotifiedMovement) => m.direction === "DBIT" || m.reversal || m.returnReason !== null;

/**
 * `sepa-reports`: the bank's status reports. pain.002 rejections fail their orders; camt.054
 * credits pay them (then mint); camt.054 returns fail or flag them. Every movement is applied
 * even when one cannot be (a mismatched amount flags its order and is reported at the end as
 * unrecoverable); a redelivered report changes nothing (each step only moves a debit forward).
 */
export function sepaReportsProcessor(deps: SepaReportDeps): Processor<SepaReportJob> {
  sepaMetrics(deps.metrics);
  return async ({ payload: { report }, receivedAt }, _job, log) => {
    if (report.kind === "pain.002") {
      const outcomes = await applyStatusReport(deps, report);
      log.info({ msgId: report.msgId, originalMsgId: report.originalMsgId, outcomes }, "SEPA status report applied");
      return { outcomes };
    }
    const outcomes: Outcome[] = [];
    const refused: string[] = [];
    for (const m of report.movements) {
      try {
        if (isReturn(m)) outcomes.push(await applyReturn(deps, m, log));
        else if (m.entryStatus === "BOOK") outcomes.push(await applyCredit(deps, m, receivedAt));
        else outcomes.push({ endToEndId: m.endToEndId, outcome: `ignored (entry ${m.entryStatus})` });
      } catch (err) {
        if (!(err instanceof UnrecoverableError)) throw err;
        refused.push(err.message);
        outcomes.push({ endToEndId: m.endToEndId, outcome: "refused" });
      }
    }
    log.info({ msgId: report.msgId, outcomes }, "SEPA notification applied");
    if (refused.length) throw new UnrecoverableError(refused.join("; "));
    return { outcomes };
  };
}
