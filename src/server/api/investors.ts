import { Hono } from "hono";
import type { Kysely, Selectable } from "kysely";
import type { AmlAlertsTable, AmlScreeningsTable, Database, InvestorsTable, KycEventsTable } from "../../db/schema.js";
import { createOnce, iso } from "./create-once.js";
import { identifier, investorInput, parseBody, type InvestorInput } from "./validation.js";

interface AmlView {
  latest: Selectable<AmlScreeningsTable> | undefined;
  openAlerts: Selectable<AmlAlertsTable>[];
}

function investorView(i: Selectable<InvestorsTable>, history: Selectable<KycEventsTable>[], aml: AmlView) {
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
      provider: i.kyc_provider,
      // Null until the kyc-applications job has created the applicant at the provider.
      applicantId: i.kyc_applicant_id,
      verificationUrl: i.kyc_verification_url,
      submittedAt: iso(i.kyc_submitted_at),
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
    // Null until KYC approval has opened the investor's Fireblocks vault (custody-vaults job).
    custody: {
      vaultId: i.custody_vault_id,
      assetId: i.custody_asset_id,
      depositAddress: i.custody_deposit_address,
      vaultCreatedAt: iso(i.custody_vault_created_at),
    },
    aml: {
      risk: i.aml_risk,
      latestScreening: aml.latest
        ? {
            period: aml.latest.period,
            outcome: aml.latest.outcome,
            matches: aml.latest.match_count,
            searchId: aml.latest.search_id,
            screenedAt: iso(aml.latest.screened_at),
          }
        : null,
      openAlerts: aml.openAlerts.map((a) => ({ id: a.id, type: a.alert_type, status: a.status, matchData: a.match_data, createdAt: iso(a.created_at) })),
    },
    createdAt: iso(i.created_at),
    updatedAt: iso(i.updated_at),
  };
}

const sameInvestor = (row: Selectable<InvestorsTable>, i: InvestorInput) =>
  row.wallet === i.wallet &&
  row.first_name === i.firstName &&
  row.last_name === i.lastName &&
  row.date_of_birth === i.dateOfBirth &&
  row.nationality === i.nationality &&
  row.bakkt_party_ref === (i.bakktPartyRef ?? null) &&
  row.kyc_provider === (i.kycProvider ?? null);

export interface InvestorApiDeps {
  db: Kysely<Database>;
  /**
   * Queue the outbound KYC application of an investor created with a kycProvider (the web
   * process wires the kyc-applications queue in; the server knows no processors). Called after
   * the insert and again on an identical repeat, so a request whose enqueue failed is completed
   * by its retry; the job id makes the second call a no-op.
   */
  onKycRequested(investorId: string): Promise<void>;
}

/** `POST /investors` (idempotent create) and `GET /investors/:id` with KYC history and AML state. */
export function investorRoutes({ db, onKycRequested }: InvestorApiDeps): Hono {
  const app = new Hono();
  const load = (id: string) => db.selectFrom("investors").selectAll().where("id", "=", id).executeTakeFirst();
  const view = async (row: Selectable<InvestorsTable>) => {
    const [history, latest, openAlerts] = await Promise.all([
      db.selectFrom("kyc_events").selectAll().where("investor_id", "=", row.id).orderBy("id").execute(),
      db
        .selectFrom("aml_screenings")
        .selectAll()
        .where("investor_id", "=", row.id)
        .orderBy("screened_at", "desc")
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst(),
      db.selectFrom("aml_alerts").selectAll().where("investor_id", "=", row.id).where("status", "=", "pending_review").orderBy("id").execute(),
    ]);
    return investorView(row, history, { latest, openAlerts });
  };

  const requestKyc = async (row: Selectable<InvestorsTable>) => {
    if (row.kyc_provider && !row.kyc_applicant_id) await onKycRequested(row.id);
  };

  app.post("/", async (c) => {
    const parsed = await parseBody(c, investorInput);
    if ("response" in parsed) return parsed.response;
    const i = parsed.data;
    if (i.bakktPartyRef) {
      const holder = await db.selectFrom("investors").select("id").where("bakkt_party_ref", "=", i.bakktPartyRef).executeTakeFirst();
      if (holder && holder.id !== i.id) return c.json({ error: `bakktPartyRef ${i.bakktPartyRef} belongs to investor ${holder.id}` }, 409);
    }
    return createOnce(c, {
      insert: async () =>
        (await db
          .insertInto("investors")
          .values({
            id: i.id,
            wallet: i.wallet,
            first_name: i.firstName,
            last_name: i.lastName,
            date_of_birth: i.dateOfBirth,
            nationality: i.nationality,
            bakkt_party_ref: i.bakktPartyRef ?? null,
            kyc_provider: i.kycProvider ?? null,
          })
          .onConflict((oc) => oc.doNothing())
          .returning("id")
          .executeTakeFirst()) !== undefined,
      created: async () => (await load(i.id))!,
      existing: () => load(i.id),
      same: (row) => sameInvestor(row, i),
      afterCreate: (row) => requestKyc(row),
      afterRepeat: (row) => requestKyc(row),
      conflict: `investor ${i.id}`,
      view,
    });
  });

  app.get("/:id", async (c) => {
    const id = identifier.safeParse(c.req.param("id"));
    const row = id.success ? await load(id.data) : undefined;
    return row ? c.json(await view(row)) : c.json({ error: "no such investor" }, 404);
  });

  return app;
}
