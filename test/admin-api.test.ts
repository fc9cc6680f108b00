import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type TestStack } from "./helpers/stack.js";

const TOKEN = "a-long-enough-admin-token-xyz";

describe("admin API over HTTP", () => {
  let stack: TestStack;
  const db = () => stack.c.dbh.db;

  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN, raw?: string) => {
    const res = await fetch(`${stack.base}/api${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  };

  const investor = {
    id: "inv-api-1",
    wallet: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    firstName: "Ada",
    lastName: "Lovelace",
    dateOfBirth: "1815-12-10",
    nationality: "GB",
    bakktPartyRef: "ABCDEFG123",
  };
  const order = {
    referenceId: "ATK-TX-00001",
    investorId: "inv-api-1",
    tokenAddress: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    tokenAmount: "1000000000000000000",
    expectedAmount: "100.00",
    currency: "USD",
  };

  beforeAll(async () => {
    stack = await startStack("admin_api", { env: { ADMIN_API_TOKEN: TOKEN }, web: true });
  });
  afterAll(() => stack?.close());

  it("a missing, malformed or wrong token gets 401 and changes nothing", async () => {
    for (const token of [null, "wrong-token-of-some-length", "", `${TOKEN}x`]) {
      const res = await call("POST", "/investors", investor, token);
      expect(res.status, String(token)).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    const basic = await fetch(`${stack.base}/api/investors/inv-api-1`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` } });
    expect(basic.status).toBe(401);
    expect(await db().selectFrom("investors").selectAll().execute()).toEqual([]);
  });

  it("creates an investor (201), an identical repeat answers 200 with the same resource, a conflicting one 409", async () => {
    const created = await call("POST", "/investors", investor);
    expect(created.status).toBe(201);
    expect(created.body).toEqual(
      expect.objectContaining({
        id: "inv-api-1",
        wallet: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        nationality: "GB",
        kyc: expect.objectContaining({ status: "pending", history: [] }),
      }),
    );
    const again = await call("POST", "/investors", investor);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);
    const conflict = await call("POST", "/investors", { ...investor, lastName: "Byron" });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toContain("already exists with different details");
    const partyTaken = await call("POST", "/investors", { ...investor, id: "inv-api-2" });
    expect(partyTaken.status).toBe(409);
    expect((await call("GET", "/investors/inv-api-1")).body.lastName).toBe("Lovelace");
    expect((await call("GET", "/investors/nobody")).status).toBe(404);
  });

  it("invalid investor input gets 400 saying what is wrong, and nothing is stored", async () => {
    const bad = await call("POST", "/investors", { ...investor, id: "inv:bad", wallet: "0x123", dateOfBirth: "1990-02-30", nationality: "gb", extra: 1 });
    expect(bad.status).toBe(400);
    const text = bad.body.issues.join("\n");
    for (const field of ["id:", "wallet:", "dateOfBirth:", "nationality:"]) expect(text).toContain(field);
    expect(text).toMatch(/extra/);
    const notJson = await call("POST", "/investors", undefined, TOKEN, "{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toBe("invalid JSON body");
    expect(await db().selectFrom("investors").select("id").execute()).toEqual([{ id: "inv-api-1" }]);
  });

  it("creates an order (201); identical repeat 200 (equal decimals count as identical); conflict 409; GET shows status and proof fields", async () => {
    const created = await call("POST", "/orders", order);
    expect(created.status).toBe(201);
    expect(created.body).toEqual(
      expect.objectContaining({
        referenceId: "ATK-TX-00001",
        status: "pending",
        tokenAmount: "1000000000000000000",
        expectedAmount: "100.00",
        tokenAddress: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        payment: null,
        mintTxHash: null,
        completedAt: null,
      }),
    );
    expect(created.body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const again = await call("POST", "/orders", { ...order, expectedAmount: "100", tokenAddress: order.tokenAddress.toLowerCase() });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);
    const conflict = await call("POST", "/orders", { ...order, expectedAmount: "100.01" });
    expect(conflict.status).toBe(409);
    expect((await call("GET", "/orders/ATK-TX-00001")).body).toEqual(created.body);
    expect((await call("GET", "/orders/nope")).status).toBe(404);
  });

  it("invalid orders get 400: unknown investor, float-looking amounts, zero, bad currency", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...order, referenceId: "r-1", investorId: "nobody" }, "investorId: no investor nobody"],
      [{ ...order, referenceId: "r-2", tokenAmount: "1.5" }, "tokenAmount:"],
      [{ ...order, referenceId: "r-3", tokenAmount: 100 }, "tokenAmount:"],
      [{ ...order, referenceId: "r-4", expectedAmount: "1e3" }, "expectedAmount:"],
      [{ ...order, referenceId: "r-5", expectedAmount: "0.00" }, "expectedAmount:"],
      [{ ...order, referenceId: "r-6", currency: "usd" }, "currency:"],
      // A code no payment could carry: the webhooks' own ISO 4217 check refuses it here too.
      [{ ...order, referenceId: "r-8", currency: "XYZ" }, "currency: expected an ISO 4217 currency code"],
      [{ ...order, referenceId: "r-7", tokenAmount: "0" }, "tokenAmount:"],
    ];
    for (const [body, problem] of cases) {
      const res = await call("POST", "/orders", body);
      expect(res.status, problem).toBe(400);
      expect(Object.keys(res.body).sort(), "the one 400 shape").toEqual(["error", "issues"]);
      expect(res.body.issues.join("\n")).toContain(problem);
    }
    expect(await db().selectFrom("orders").select("reference_id").execute()).toEqual([{ reference_id: "ATK-TX-00001" }]);
  });
});
