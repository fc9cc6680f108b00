import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import type { Kysely, Selectable } from "kysely";
import { z } from "zod";
import type { Database, SepaMandatesTable } from "../../db/schema.js";
import { utcDay } from "../../validation/calendar.js";
import { bicString, ibanString, maskIban } from "../../validation/iban.js";
import { invalid } from "../invalid.js";
import { createOnce, iso } from "./create-once.js";
import { identifier, isoDate, parseBody } from "./validation.js";

/** A mandate reference: at most 35 characters of the SEPA set that are also safe in a URL path. */
export const mandateRefString = z.string().regex(/^[A-Za-z0-9.+-]{1,35}$/, { error: "expected 1-35 letters, digits, '.', '+' or '-'" });

/** A name as a SEPA file may carry it (the EPC's Latin character set), at most 70 characters. */
export const sepaName = z
  .string()
  .trim()
  .min(1)
  .max(70)
  .regex(/^[A-Za-z0-9/?:().,'+ -]+$/, { error: "expected letters (without accents), digits, spaces and / - ? : ( ) . , ' + (the SEPA character set)" });

export const mandateInput = z.strictObject({
  investorId: identifier,
  iban: ibanString(),
  bic: bicString().optional(),
  debtorName: sepaName,
  /** Optional: without it one is generated, and a repeat is found by investor, IBAN and signature date. */
  mandateRef: mandateRefString.optional(),
  signatureDate: isoDate.refine((d) => d <= utcDay(Date.now()), { error: "a mandate cannot be signed in the future" }),
});
type MandateInput = z.infer<typeof mandateInput>;

/** The answer: the IBAN masked unless the caller asked for it with `?reveal=iban`. */
export function mandateView(m: Selectable<SepaMandatesTable>, reveal = false) {
  return {
    mandateRef: m.mandate_ref,
    investorId: m.investor_id,
    creditorId: m.creditor_id,
    iban: reveal ? m.iban : maskIban(m.iban),
    bic: m.bic,
    debtorName: m.debtor_name,
    signatureDate: m.signature_date,
    status: m.status,
    createdAt: iso(m.created_at),
    revokedAt: iso(m.revoked_at),
  };
}

const sameMandate = (row: Selectable<SepaMandatesTable>, m: MandateInput, creditorId: string) =>
  row.investor_id === m.investorId &&
  row.iban === m.iban &&
  row.bic === (m.bic ?? null) &&
  row.debtor_name === m.debtorName &&
  row.signature_date === m.signatureDate &&
  row.creditor_id === creditorId &&
  (m.mandateRef === undefined || row.mandate_ref === m.mandateRef);

const revealed = (c: { req: { query(name: string): string | undefined } }) => c.req.query("reveal") === "iban";

/**
 * `POST /mandates` (idempotent create under the configured creditor id), `GET /mandates/:ref`
 * and `POST /mandates/:ref/revoke`. Answers mask the IBAN (country, check digits, last four);
 * `?reveal=iban` on any of them returns it in full to the admin token holder.
 */
export function mandateRoutes(deps: { db: Kysely<Database>; creditorId: string | undefined }): Hono {
  const { db } = deps;
  const app = new Hono();
  const load = (ref: string) => db.selectFrom("sepa_mandates").selectAll().where("mandate_ref", "=", ref).executeTakeFirst();

  app.post("/", async (c) => {
    const creditorId = deps.creditorId;
    if (!creditorId) return c.json({ error: "SEPA Direct Debit is not configured: SEPA_CREDITOR_ID is not set" }, 503);
    const parsed = await parseBody(c, mandateInput);
    if ("response" in parsed) return parsed.response;
    const m = parsed.data;
    const investor = await db.selectFrom("investors").select("id").where("id", "=", m.investorId).executeTakeFirst();
    if (!investor) return c.json(invalid("invalid request", [`investorId: no investor ${m.investorId}`]), 400);
    const ref = m.mandateRef ?? `HRM${randomBytes(10).toString("hex").toUpperCase()}`;
    const existing = () =>
      m.mandateRef
        ? load(m.mandateRef)
        : db
            .selectFrom("sepa_mandates")
            .selectAll()
            .where("investor_id", "=", m.investorId)
            .where("iban", "=", m.iban)
            .where("signature_date", "=", m.signatureDate)
            .executeTakeFirst();
    return createOnce(c, {
      insert: async () =>
        (await db
          .insertInto("sepa_mandates")
          .values({
            mandate_ref: ref,
            investor_id: m.investorId,
            creditor_id: creditorId,
            iban: m.iban,
            bic: m.bic ?? null,
            debtor_name: m.debtorName,
            signature_date: m.signatureDate,
          })
          .onConflict((oc) => oc.doNothing())
          .returning("mandate_ref")
          .executeTakeFirst()) !== undefined,
      created: async () => (await load(ref))!,
      existing,
      same: (row) => sameMandate(row, m, creditorId),
      conflict: m.mandateRef ? `mandate ${m.mandateRef}` : "a mandate for this investor, IBAN and signature date",
      view: (row) => mandateView(row, revealed(c)),
    });
  });

  app.get("/:ref", async (c) => {
    const ref = mandateRefString.safeParse(c.req.param("ref"));
    const row = ref.success ? await load(ref.data) : undefined;
    return row ? c.json(mandateView(row, revealed(c))) : c.json({ error: "no such mandate" }, 404);
  });

  /** Revoked mandates are never debited again (debits already in a submitted file stay with the bank). */
  app.post("/:ref/revoke", async (c) => {
    const ref = mandateRefString.safeParse(c.req.param("ref"));
    if (!ref.success) return c.json({ error: "no such mandate" }, 404);
    await db
      .updateTable("sepa_mandates")
      .set({ status: "revoked", revoked_at: new Date(), updated_at: new Date() })
      .where("mandate_ref", "=", ref.data)
      .where("status", "=", "active")
      .execute();
    const row = await load(ref.data);
    return row ? c.json(mandateView(row, revealed(c))) : c.json({ error: "no such mandate" }, 404);
  });

  return app;
}
