import { sql, type Kysely } from "kysely";
import type { SepaBankClient } from "../../clients/sepa-bank.js";
import type { SepaCreditor } from "../../config/sepa.js";
import type { Database, SepaSequenceType } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import { formatCents, toCents } from "../../validation/euro.js";
import { addDays, dueDate, laterDay, nextPeriod } from "../../validation/calendar.js";
import { collectionMsgId, debitEndToEndId, debitOrderReference } from "./ids.js";
import { applyFailedPayment } from "../orders/order-payments.js";
import { buildPain008, type FileDebit } from "./pain008.js";

export interface LeadDays {
  FRST: number;
  RCUR: number;
}

export interface CollectionDeps {
  db: Kysely<Database>;
  bank: SepaBankClient;
  creditor: SepaCreditor;
  lead: LeadDays;
  log: Logger;
  now?: () => Date;
}

/** Periods one run may add per subscription: a scheduler down for a long time catches up over several runs, not in one burst. */
const MAX_PERIODS_PER_RUN = 3;
/** Serializes the assembly of files across worker processes (any constant; only this feature takes it). */
const ASSEMBLY_LOCK = 0x5e9a_0008;

/** A mandate's first debit is FRST; once one was not rejected (sent and not refused), the next ones are RCUR. */
async function sequenceFor(db: Kysely<Database>, mandateRef: string): Promise<SepaSequenceType> {
  const earlier = await db
    .selectFrom("sepa_debits")
    .select("id")
    .where("mandate_ref", "=", mandateRef)
    .where("status", "!=", "rejected")
    .limit(1)
    .executeTakeFirst();
  return earlier ? "RCUR" : "FRST";
}

/**
 * Create the debits (and their orders) that are due by `runDay`: a period is due once its due
 * date is no more than the sequence type's lead time away. Its collection date is the due date,
 * or the earliest date the lead time allows when the run is late. One transaction per debit,
 * under a lock on its mandate, so the sequence type is decided once; the unique key on
 * subscription and period (and the order's reference) make a rerun add nothing.
 */
export async function planDebits(deps: Pick<CollectionDeps, "db" | "lead">, runDay: string): Promise<string[]> {
  const subs = await deps.db
    .selectFrom("sepa_subscriptions as s")
    .innerJoin("sepa_mandates as m", "m.mandate_ref", "s.mandate_ref")
    .select(["s.id", "s.investor_id", "s.mandate_ref", "s.token_address", "s.amount", "s.token_amount_per_eur", "s.day_of_month", "s.start_period"])
    .where("m.status", "=", "active")
    .orderBy("s.id")
    .execute();
  const created: string[] = [];
  for (const s of subs) {
    for (let i = 0; i < MAX_PERIODS_PER_RUN; i++) {
      const added = await deps.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext(${s.mandate_ref}))`.execute(trx);
        const last = await trx
          .selectFrom("sepa_debits")
          .select("period")
          .where("subscription_id", "=", s.id)
          .orderBy("period", "desc")
          .limit(1)
          .executeTakeFirst();
        const period = last ? nextPeriod(last.period) : s.start_period;
        const due = dueDate(period, s.day_of_month);
        const seq = await sequenceFor(trx, s.mandate_ref);
        if (addDays(due, -deps.lead[seq]) > runDay) return undefined;
        const orderReference = debitOrderReference(s.id, period);
        // Exact: the subscription was only accepted when amount × rate is whole base units.
        const tokenAmount = (toCents(s.amount) * BigInt(s.token_amount_per_eur)) / 100n;
        await trx
          .insertInto("orders")
          .values({
            reference_id: orderReference,
            investor_id: s.investor_id,
            token_address: s.token_address,
            token_amount: tokenAmount.toString(),
            expected_amount: s.amount,
            currency: "EUR",
          })
          .onConflict((oc) => oc.doNothing())
          .execute();
        const row = await trx
          .insertInto("sepa_debits")
          .values({
            subscription_id: s.id,
            period,
            mandate_ref: s.mandate_ref,
            order_reference: orderReference,
            end_to_end_id: debitEndToEndId(orderReference),
            amount: s.amount,
            sequence_type: seq,
            due_date: due,
            collection_date: laterDay(due, addDays(runDay, deps.lead[seq])),
          })
          .onConflict((oc) => oc.doNothing())
          .returning("order_reference")
          .executeTakeFirst();
        return row?.order_reference;
      });
      if (!added) break;
      created.push(added);
    }
  }
  return created;
}

/**
 * Debits planned under a mandate that was revoked before they went into a file are never sent:
 * the debit is closed (`rejected`, reason `REVOKED`) and its order failed.
 */
export async function dropRevoked(db: Kysely<Database>): Promise<string[]> {
  const dropped = await db
    .updateTable("sepa_debits")
    .set({ status: "rejected", reason_code: "REVOKED", updated_at: new Date() })
    .where("status", "=", "pending")
    .where("collection_id", "is", null)
    .where("mandate_ref", "in", db.selectFrom("sepa_mandates").select("mandate_ref").where("status", "=", "revoked"))
    .returning(["order_reference", "end_to_end_id", "mandate_ref"])
    .execute();
  for (const d of dropped) {
    await applyFailedPayment(db, {
      source: "bank",
      referenceId: d.order_reference,
      proof: d.end_to_end_id,
      reason: `SEPA mandate ${d.mandate_ref} revoked before the debit was sent`,
    });
  }
  return dropped.map((d) => d.order_reference);
}

/**
 * Put every debit not yet in a file into one file per collection date, and store each file:
 * built once, inside the transaction that assigns its debits, so every later submission
 * sends these very bytes (same MsgId, same EndToEndIds, same creation time).
 */
export async function assembleFiles(deps: Pick<CollectionDeps, "db" | "creditor" | "now">): Promise<string[]> {
  const now = deps.now ?? (() => new Date());
  return deps.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${ASSEMBLY_LOCK})`.execute(trx);
    const open = await trx
      .selectFrom("sepa_debits as d")
      .innerJoin("sepa_mandates as m", "m.mandate_ref", "d.mandate_ref")
      .select(["d.id", "d.end_to_end_id", "d.amount", "d.sequence_type", "d.mandate_ref", "d.collection_date", "d.order_reference", "d.period"])
      .select(["m.signature_date", "m.debtor_name", "m.iban", "m.bic"])
      .where("d.collection_id", "is", null)
      .where("d.status", "=", "pending")
      .orderBy("d.collection_date")
      .orderBy("d.id")
      .execute();
    const byDate = new Map<string, typeof open>();
    for (const d of open) byDate.set(d.collection_date, [...(byDate.get(d.collection_date) ?? []), d]);
    const built: string[] = [];
    for (const [collectionDate, rows] of byDate) {
      const debits: FileDebit[] = rows.map((d) => ({
        endToEndId: d.end_to_end_id,
        amountCents: toCents(d.amount),
        sequenceType: d.sequence_type,
        mandateRef: d.mandate_ref,
        signatureDate: d.signature_date,
        debtorName: d.debtor_name,
        iban: d.iban,
        bic: d.bic,
        remittance: `Subscription ${d.period} ${d.order_reference}`.replaceAll("_", "-").slice(0, 140),
      }));
      const createdAt = now();
      // Second precision: the file's CreDtTm has no fraction, and the stored row must say what the file says.
      createdAt.setMilliseconds(0);
      const controlSum = debits.reduce((s, d) => s + d.amountCents, 0n);
      const { id } = await trx
        .insertInto("sepa_collections")
        .values({ collection_date: collectionDate, document: "", tx_count: debits.length, control_sum: "0", created_at: createdAt })
        .returning("id")
        .executeTakeFirstOrThrow();
      const msgId = collectionMsgId(id, collectionDate);
      const document = buildPain008({ msgId, createdAt, collectionDate, creditor: deps.creditor, debits });
      await trx
        .updateTable("sepa_collections")
        .set({ msg_id: msgId, document, control_sum: formatCents(controlSum) })
        .where("id", "=", id)
        .execute();
      await trx
        .updateTable("sepa_debits")
        .set({ collection_id: id, updated_at: new Date() })
        .where(
          "id",
          "in",
          rows.map((d) => d.id),
        )
        .execute();
      built.push(msgId);
    }
    return built;
  });
}

/**
 * Upload every stored file the bank has not confirmed, oldest first, and record its file id.
 * A run that died after the upload and before the record uploads the same file again: the
 * bank answers that it has that MsgId, which the client reports as a duplicate, and the file
 * is recorded as submitted all the same. Nothing is collected twice: the bank holds one file
 * per MsgId and the debits were assigned to this one file when it was built.
 */
export async function submitFiles(deps: Pick<CollectionDeps, "db" | "bank" | "log">): Promise<{ msgId: string; fileId: string; duplicate: boolean }[]> {
  const pending = await deps.db.selectFrom("sepa_collections").select(["id", "msg_id", "document"]).where("status", "=", "built").orderBy("id").execute();
  const done: { msgId: string; fileId: string; duplicate: boolean }[] = [];
  for (const c of pending) {
    const msgId = c.msg_id!;
    await deps.db
      .updateTable("sepa_collections")
      .set((eb) => ({ submissions: eb("submissions", "+", 1) }))
      .where("id", "=", c.id)
      .execute();
    const answer = await deps.bank.submitFile(msgId, c.document);
    await deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable("sepa_collections")
        .set({ status: "submitted", bank_file_id: answer.fileId, submitted_at: new Date() })
        .where("id", "=", c.id)
        .where("status", "=", "built")
        .execute();
      await trx
        .updateTable("sepa_debits")
        .set({ status: "submitted", updated_at: new Date() })
        .where("collection_id", "=", c.id)
        .where("status", "=", "pending")
        .execute();
    });
    deps.log.info({ msgId, fileId: answer.fileId, duplicate: answer.duplicate }, "SEPA collection file submitted");
    done.push({ msgId, ...answer });
  }
  return done;
}

/** One collection run: plan what is due, build the files, submit them. Each step resumes what an earlier run left. */
export async function runCollection(deps: CollectionDeps, runDay: string) {
  const debits = await planDebits(deps, runDay);
  const dropped = await dropRevoked(deps.db);
  const files = await assembleFiles(deps);
  const submitted = await submitFiles(deps);
  return { runDay, debits: debits.length, dropped, files, submitted };
}
