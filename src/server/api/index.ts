import { Hono } from "hono";
import type { Kysely, Selectable } from "kysely";
import type { Database, InvestorsTable, KycEventsTable, OrdersTable } from "../../db/schema.js";
import { decimalEquals } from "../../processors/decimal-amount.js";
import { adminAuth } from "./auth.js";
import { identifier, investorInput, orderInput, parseBody, type InvestorInput, type OrderInput } from "./validation.js";

export interface AdminApiDeps {
  db: Kysely<Database>;
  token: string | undefined;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function investorView(i: Selectable<InvestorsTable>, history: Selectable<KycEventsTable>[]) {
  return {
    id: i.id,
    wallet: i.wallet,
    firstName: i.first_name,
    lastName: i.last_name,
    dateOfBirth: i.date_of_birth,
    nationality: i.nationality,
    bakktPartyRef: i.bakkt_party_ref,
    kyc: {
      status: i.kyc_status,
      eventAt: iso(i.kyc_event_at),
      details: i.kyc_details,
      history: history.map((h) => ({
        source: h.source,
        eventType: h.event_type,
        status: h.status,
        previousStatus: h.previous_status,
        applied: h.applied,
        eventAt: iso(h.event_at),
        recordedAt: iso(h.recorded_at),
        details: h.details,
      })),
    },
    createdAt: iso(i.created_at),
    updatedAt: iso(i.updated_at),
  };
}

function orderView(o: Selectable<OrdersTable>) {
  return {
    referenceId: o.reference_id,
    investorId: o.investor_id,
    tokenAddress: o.token_address,
    tokenAmount: o.token_amount,
    expectedAmount: o.expected_amount,
    currency: o.currency,
    status: o.status,
    payment: o.payment_proof
      ? { source: o.payment_source, proof: o.payment_proof, amount: o.paid_amount, currency: o.paid_currency, paidAt: iso(o.paid_at) }
      : null,
    flagReason: o.flag_reason,
    failureReason: o.failure_reason,
    mintTxHash: o.mint_tx_hash,
    createdAt: iso(o.created_at),
    updatedAt: iso(o.updated_at),
    paidAt: iso(o.paid_at),
    completedAt: iso(o.completed_at),
  };
}

const sameInvestor = (row: Selectable<InvestorsTable>, i: InvestorInput) =>
  row.wallet === i.wallet &&
  row.first_name === i.firstName &&
  row.last_name === i.lastName &&
  row.date_of_birth === i.dateOfBirth &&
  row.nationality === i.nationality &&
  row.bakkt_party_ref === (i.bakktPartyRef ?? null);

const sameOrder = (row: Selectable<OrdersTable>, o: OrderInput) =>
  row.investor_id === o.investorId &&
  row.token_address === o.tokenAddress &&
  BigInt(row.token_amount) === BigInt(o.tokenAmount) &&
  decimalEquals(row.expected_amount, o.expectedAmount) &&
  row.currency === o.currency;

/**
 * The admin API under /api: investors and orders. Creates are idempotent: an identical repeat
 * answers 200 with the stored resource, a different body under an existing id 409.
 */
export function adminApiRoutes(deps: AdminApiDeps): Hono {
  const { db } = deps;
  const app = new Hono();
  app.use("*", adminAuth(deps.token));

  const loadInvestor = async (id: string) => {
    const row = await db.selectFrom("investors").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) return undefined;
    const history = await db.selectFrom("kyc_events").selectAll().where("investor_id", "=", id).orderBy("id").execute();
    return investorView(row, history);
  };

  app.post("/investors", async (c) => {
    const parsed = await parseBody(c, investorInput);
    if ("response" in parsed) return parsed.response;
    const i = parsed.data;
    if (i.bakktPartyRef) {
      const holder = await db.selectFrom("investors").select("id").where("bakkt_party_ref", "=", i.bakktPartyRef).executeTakeFirst();
      if (holder && holder.id !== i.id) return c.json({ error: `bakktPartyRef ${i.bakktPartyRef} belongs to investor ${holder.id}` }, 409);
    }
    const inserted = await db
      .insertInto("investors")
      .values({
        id: i.id,
        wallet: i.wallet,
        first_name: i.firstName,
        last_name: i.lastName,
        date_of_birth: i.dateOfBirth,
        nationality: i.nationality,
        bakkt_party_ref: i.bakktPartyRef ?? null,
      })
      .onConflict((oc) => oc.doNothing())
      .returning("id")
      .executeTakeFirst();
    if (!inserted) {
      const existing = await db.selectFrom("investors").selectAll().where("id", "=", i.id).executeTakeFirst();
      if (!existing || !sameInvestor(existing, i)) return c.json({ error: `investor ${i.id} already exists with different details` }, 409);
      return c.json(await loadInvestor(i.id), 200);
    }
    return c.json(await loadInvestor(i.id), 201);
  });

  app.get("/investors/:id", async (c) => {
    const id = identifier.safeParse(c.req.param("id"));
    const view = id.success ? await loadInvestor(id.data) : undefined;
    return view ? c.json(view) : c.json({ error: "no such investor" }, 404);
  });

  app.post("/orders", async (c) => {
    const parsed = await parseBody(c, orderInput);
    if ("response" in parsed) return parsed.response;
    const o = parsed.data;
    const investor = await db.selectFrom("investors").select("id").where("id", "=", o.investorId).executeTakeFirst();
    if (!investor) return c.json({ error: "invalid request", problems: [`investorId: no investor ${o.investorId}`] }, 400);
    const inserted = await db
      .insertInto("orders")
      .values({
        reference_id: o.referenceId,
        investor_id: o.investorId,
        token_address: o.tokenAddress,
        token_amount: o.tokenAmount,
        expected_amount: o.expectedAmount,
        currency: o.currency,
      })
      .onConflict((oc) => oc.doNothing())
      .returning("reference_id")
      .executeTakeFirst();
    const row = await db.selectFrom("orders").selectAll().where("reference_id", "=", o.referenceId).executeTakeFirstOrThrow();
    if (!inserted) {
      if (!sameOrder(row, o)) return c.json({ error: `order ${o.referenceId} already exists with different details` }, 409);
      return c.json(orderView(row), 200);
    }
    return c.json(orderView(row), 201);
  });

  app.get("/orders/:referenceId", async (c) => {
    const ref = identifier.safeParse(c.req.param("referenceId"));
    const row = ref.success ? await db.selectFrom("orders").selectAll().where("reference_id", "=", ref.data).executeTakeFirst() : undefined;
    return row ? c.json(orderView(row)) : c.json({ error: "no such order" }, 404);
  });

  app.get("/custody-transactions/:id", async (c) => {
    const row = await db.selectFrom("custody_transactions").selectAll().where("id", "=", c.req.param("id")).executeTakeFirst();
    if (!row) return c.json({ error: "no such custody transaction" }, 404);
    return c.json({
      id: row.id,
      status: row.status,
      subStatus: row.sub_status,
      txHash: row.tx_hash,
      lastEventAt: iso(row.last_event_at),
      finishedAt: iso(row.finished_at),
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    });
  });

  return app;
}
