import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import type { Kysely, Selectable } from "kysely";
import { z } from "zod";
import type { Database, SepaDebitsTable, SepaSubscriptionsTable } from "../../db/schema.js";
import { firstPeriodFrom, utcDay } from "../../validation/calendar.js";
import { decimalEquals } from "../../validation/decimal.js";
import { euroAmountString, toCents } from "../../validation/euro.js";
import { baseUnitsString } from "../../validation/fields.js";
import { invalid } from "../invalid.js";
import { createOnce, iso } from "./create-once.js";
import { mandateRefString } from "./mandates.js";
import { address, identifier, parseBody } from "./validation.js";

const subscriptionId = z.string().regex(/^[A-Za-z0-9.-]{1,64}$/, { error: "expected 1-64 letters, digits, '.' or '-'" });

export const subscriptionInput = z
  .strictObject({
    /** Optional: without it one is generated, and a repeat is found by mandate and token. */
    id: subscriptionId.optional(),
    investorId: identifier,
    mandateRef: mandateRefString,
    tokenAddress: address,
    /** EUR debited each period. */
    amount: euroAmountString(),
    /** The price: token base units bought per 1 EUR. amount × this must be whole base units. */
    tokenAmountPerEur: baseUnitsString("token base units per EUR"),
    dayOfMonth: z.number().int().min(1).max(28, { error: "expected 1-28 (every month has the day)" }),
    /** YYYY-MM, the first month collected; default: the first whose day of month is still ahead. */
    startPeriod: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: "expected YYYY-MM" })
      .refine((p) => p >= utcDay(Date.now()).slice(0, 7), { error: "cannot start in a past month" })
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (!/^\d+(\.\d{1,2})?$/.test(s.amount) || !/^[0-9]{1,78}$/.test(s.tokenAmountPerEur)) return;
    if ((toCents(s.amount) * BigInt(s.tokenAmountPerEur)) % 100n !== 0n)
      ctx.addIssue({ code: "custom", path: ["tokenAmountPerEur"], message: "amount × tokenAmountPerEur is not a whole number of token base units" });
  });
type SubscriptionInput = z.infer<typeof subscriptionInput>;

function subscriptionView(s: Selectable<SepaSubscriptionsTable>, debits: Selectable<SepaDebitsTable>[]) {
  return {
    id: s.id,
    investorId: s.investor_id,
    mandateRef: s.mandate_ref,
    tokenAddress: s.token_address,
    amount: s.amount,
    currency: "EUR",
    tokenAmountPerEur: s.token_amount_per_eur,
    tokenAmountPerPeriod: ((toCents(s.amount) * BigInt(s.token_amount_per_eur)) / 100n).toString(),
    dayOfMonth: s.day_of_month,
    startPeriod: s.start_period,
    createdAt: iso(s.created_at),
    debits: debits.map((d) => ({
      period: d.period,
      orderReference: d.order_reference,
      endToEndId: d.end_to_end_id,
      sequenceType: d.sequence_type,
      dueDate: d.due_date,
      collectionDate: d.collection_date,
      status: d.status,
      reasonCode: d.reason_code,
    })),
  };
}

const sameSubscription = (row: Selectable<SepaSubscriptionsTable>, s: SubscriptionInput, startPeriod: string) =>
  (s.id === undefined || row.id === s.id) &&
  row.investor_id === s.investorId &&
  row.mandate_ref === s.mandateRef &&
  row.token_address === s.tokenAddress &&
  decimalEquals(row.amount, s.amount) &&
  BigInt(row.token_amount_per_eur) === BigInt(s.tokenAmountPerEur) &&
  row.day_of_month === s.dayOfMonth &&
  (s.startPeriod === undefined || row.start_period === startPeriod);

/** `POST /subscriptions` (idempotent create under an active mandate of the investor) and `GET /subscriptions/:id` with its debits. */
export function subscriptionRoutes(db: Kysely<Database>): Hono {
  const app = new Hono();
  const load = (id: string) => db.selectFrom("sepa_subscriptions").selectAll().where("id", "=", id).executeTakeFirst();
  const view = async (row: Selectable<SepaSubscriptionsTable>) =>
    subscriptionView(row, await db.selectFrom("sepa_debits").selectAll().where("subscription_id", "=", row.id).orderBy("period").execute());

  app.post("/", async (c) => {
    const parsed = await parseBody(c, subscriptionInput);
    if ("response" in parsed) return parsed.response;
    const s = parsed.data;
    const mandate = await db.selectFrom("sepa_mandates").select(["investor_id", "status"]).where("mandate_ref", "=", s.mandateRef).executeTakeFirst();
    const problem = !mandate
      ? `no mandate ${s.mandateRef}`
      : mandate.investor_id !== s.investorId
        ? `mandate ${s.mandateRef} is not investor ${s.investorId}'s`
        : mandate.status !== "active"
          ? `mandate ${s.mandateRef} is ${mandate.status}`
          : undefined;
    if (problem) return c.json(invalid("invalid request", [`mandateRef: ${problem}`]), 400);
    const id = s.id ?? `sub-${randomUUID()}`;
    const startPeriod = s.startPeriod ?? firstPeriodFrom(utcDay(Date.now()), s.dayOfMonth);
    return createOnce(c, {
      insert: async () =>
        (await db
          .insertInto("sepa_subscriptions")
          .values({
            id,
            investor_id: s.investorId,
            mandate_ref: s.mandateRef,
            token_address: s.tokenAddress,
            amount: s.amount,
            token_amount_per_eur: s.tokenAmountPerEur,
            day_of_month: s.dayOfMonth,
            start_period: startPeriod,
          })
          .onConflict((oc) => oc.doNothing())
          .returning("id")
          .executeTakeFirst()) !== undefined,
      created: async () => (await load(id))!,
      existing: () =>
        s.id
          ? load(s.id)
          : db
              .selectFrom("sepa_subscriptions")
              .selectAll()
              .where("mandate_ref", "=", s.mandateRef)
              .where("token_address", "=", s.tokenAddress)
              .executeTakeFirst(),
      same: (row) => sameSubscription(row, s, startPeriod),
      conflict: s.id ? `subscription ${s.id}` : `a subscription for mandate ${s.mandateRef} and token ${s.tokenAddress}`,
      view,
    });
  });

  app.get("/:id", async (c) => {
    const id = subscriptionId.safeParse(c.req.param("id"));
    const row = id.success ? await load(id.data) : undefined;
    return row ? c.json(await view(row)) : c.json({ error: "no such subscription" }, 404);
  });

  return app;
}
