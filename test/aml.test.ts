import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KycStatus } from "../src/db/schema.js";
import { startComplyAdvantageStub, type ComplyAdvantageStub } from "../src/dev/stubs/complyadvantage.js";
import type { Clients } from "../src/processes/clients.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";

describe("AML rescreen", () => {
  let stub: ComplyAdvantageStub;
  let stack: TestStack;
  let c: Clients;
  const TOKEN = "admin-token-0123456789";

  beforeAll(async () => {
    stub = await startComplyAdvantageStub();
    stack = await startStack("aml", {
      env: {
        COMPLYADVANTAGE_API_URL: stub.url,
        COMPLYADVANTAGE_API_KEY: stub.apiKey,
        COMPLYADVANTAGE_TIMEOUT_MS: "2000",
        AML_BREAKER_VOLUME: "3",
        AML_BREAKER_RESET_MS: "400",
        AML_RATE_LIMIT_PER_SECOND: "200",
        WORKER_QUEUES: "aml-rescreen,aml-screening",
        ADMIN_API_TOKEN: TOKEN,
      },
      worker: true,
      web: true,
    });
    c = stack.c;
  });
  afterAll(async () => {
    await stack?.close();
    await stub?.close();
  });
  afterEach(() => {
    stub.failing = false;
    stub.requests.length = 0;
  });

  const addInvestors = async (prefix: string, n: number, status: KycStatus = "approved") => {
    const rows = Array.from({ length: n }, (_, i) => ({
      id: `${prefix}-${i}`,
      wallet: `0x${(i + 1).toString(16).padStart(40, "0")}`,
      first_name: "Inv",
      last_name: `${prefix} ${i}`,
      date_of_birth: `19${70 + (i % 30)}-0${1 + (i % 9)}-15`,
      nationality: "DE",
      kyc_status: status,
    }));
    await c.dbh.db.insertInto("investors").values(rows).execute();
    return rows;
  };
  const trigger = (period: string, tag: string) => c.queues.queue("aml-rescreen").add("rescreen", { period }, { jobId: `rescreen-${period}-${tag}` });
  const screenings = (period: string) => c.dbh.db.selectFrom("aml_screenings").selectAll().where("period", "=", period).execute();

  it("triggering the same period twice screens each approved investor once, with the documented request", async () => {
    const approved = await addInvestors("p1", 12);
    await addInvestors("p1-pending", 3, "pending");
    await trigger("2026-10", "a");
    await waitFor(async () => (await screenings("2026-10")).length === 12, 30_000, "12 screenings");
    await trigger("2026-10", "b");
    await waitFor(async () => (await c.queues.queue("aml-rescreen").getJobState("rescreen-2026-10-b")) === "completed");
    // Give any wrongly fanned-out screening a chance to run before counting.
    await new Promise((r) => setTimeout(r, 500));
    expect(await screenings("2026-10")).toHaveLength(12);
    const terms = stub.requests.map((r) => r.search_term).sort();
    expect(terms).toEqual(approved.map((i) => `Inv ${i.last_name}`).sort());
    const first = stub.requests.find((r) => r.client_ref === "p1-3")!;
    expect(first.fuzziness).toBe(0.7);
    expect(first.filters).toEqual({ birth_year: 1973, types: ["sanction", "warning", "fitness-probity", "pep"] });
  });

  it("a hit creates an alert with the match data and raises risk; a clean result creates none", async () => {
    await addInvestors("p2", 2);
    stub.sanctioned.add("Inv p2 1");
    await trigger("2026-11", "a");
    await waitFor(async () => (await screenings("2026-11")).filter((s) => s.investor_id.startsWith("p2-")).length === 2, 30_000);
    const alerts = await c.dbh.db.selectFrom("aml_alerts").selectAll().where("investor_id", "like", "p2-%").execute();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.investor_id).toBe("p2-1");
    expect(alerts[0]!.status).toBe("pending_review");
    expect(alerts[0]!.alert_type).toBe("potential_match");
    const match = (alerts[0]!.match_data as { doc: { name: string }; match_types: string[] }[])[0]!;
    expect(match.doc.name).toBe("Inv p2 1");
    expect(match.match_types).toContain("name_exact");
    const risks = await c.dbh.db.selectFrom("investors").select(["id", "aml_risk"]).where("id", "in", ["p2-0", "p2-1"]).orderBy("id").execute();
    expect(risks).toEqual([
      { id: "p2-0", aml_risk: "low" },
      { id: "p2-1", aml_risk: "high" },
    ]);
    const view = (await (await fetch(`${stack.base}/api/investors/p2-1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      aml: {
        risk: string;
        latestScreening: { period: string; outcome: string; matches: number };
        openAlerts: { status: string; matchData: { doc: { name: string } }[] }[];
      };
    };
    expect(view.aml.risk).toBe("high");
    expect(view.aml.latestScreening).toEqual(expect.objectContaining({ period: "2026-11", outcome: "hit", matches: 1 }));
    expect(view.aml.openAlerts).toHaveLength(1);
    expect(view.aml.openAlerts[0]!.matchData[0]!.doc.name).toBe("Inv p2 1");
    const clean = (await (await fetch(`${stack.base}/api/investors/p2-0`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      aml: { openAlerts: unknown[]; latestScreening: { outcome: string } };
    };
    expect(clean.aml.openAlerts).toEqual([]);
    expect(clean.aml.latestScreening.outcome).toBe("clean");
    const outcomes = (await screenings("2026-11"))
      .filter((s) => s.investor_id.startsWith("p2-"))
      .map((s) => [s.investor_id, s.outcome])
      .sort();
    expect(outcomes).toEqual([
      ["p2-0", "clean"],
      ["p2-1", "hit"],
    ]);
  });

  it("while the provider fails, the breaker opens and screenings wait; after recovery each is screened once and nothing is dead-lettered", async () => {
    await addInvestors("p3", 20);
    stub.failing = true;
    await trigger("2026-12", "a");
    // The breaker opens and the screenings are postponed rather than failed.
    await waitFor(
      async () => {
        const body = await c.metrics.registry.getSingleMetricAsString("hookrail_circuit_breaker_open");
        return /hookrail_circuit_breaker_open\{provider="complyadvantage"\} 1/.test(body);
      },
      20_000,
      "the breaker to open",
    );
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await screenings("2026-12")).length).toBe(0);
    expect(await c.queues.queue("aml-screening").getFailedCount()).toBe(0);

    stub.failing = false;
    // Every approved investor is due in this new period: the 20 added here and the 14 from before.
    await waitFor(async () => (await screenings("2026-12")).length === 34, 60_000, "34 screenings after recovery");
    const perInvestor = new Map<string, number>();
    for (const r of stub.requests) perInvestor.set(r.client_ref!, (perInvestor.get(r.client_ref!) ?? 0) + 1);
    expect([...perInvestor.values()].every((n) => n === 1)).toBe(true);
    expect(perInvestor.size).toBe(34);
    expect(await listDeadLetters(c.queues.deadLetters("aml-screening"))).toHaveLength(0);
    const delayed = await c.metrics.registry.getSingleMetricAsString("hookrail_aml_screenings_total");
    expect(delayed).toMatch(/outcome="delayed"\} [1-9]/);
  });
});
