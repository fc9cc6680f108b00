// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for Trulioo's Platform API v3 (https://developer.trulioo.com), the calls
 * hookrail makes:
 *
 * - `POST /connect/token` (the auth host, https://auth-api.trulioo.com): the form
 *   `client_id, client_secret, grant_type=client_credentials, scope` -> 200 `{access_token,
 *   expires_in: 1800, token_type: "Bearer", scope}`; 400 `{"error": "invalid_client"}` for
 *   wrong credentials and `{"error": "unsupported_grant_type"}` for another grant, as documented.
 * - `POST /v3/verifications/verify` (Bearer): `AcceptTruliooTermsAndConditions: true`,
 *   `ConfigurationName`, `CountryCode`, `DataFields.PersonInfo` -> 200 `{TransactionID,
 *   UploadedDt, CountryCode, ProductName, Record {TransactionRecordID, RecordStatus,
 *   DatasourceResults, Errors}, Errors}`; 400 `{Message}` for a missing required field.
 * - `GET /v3/verifications/transactionrecord/{id}` (Bearer): the record (404 unknown).
 *
 * Without a valid bearer: 401 `{Message: "Authorization has been denied for this request."}`.
 * The record's status is `outcomes.get(CustomerReferenceID)` (default `match`); tests change a
 * stored record with `records`. One server answers both hosts (`url`, `tokenUrl`).
 */
/** A verify answer / transaction record as the stub keeps it. */
export interface TruliooRecord {
  TransactionID: string;
  UploadedDt: string;
  CountryCode: string;
  ProductName: string;
  CustomerReferenceID?: string;
  Record: { TransactionRecordID: string; RecordStatus: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface TruliooStub {
  url: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** RecordStatus to answer by CustomerReferenceID. */
  outcomes: Map<string, "match" | "nomatch">;
  /** Transaction records by TransactionRecordID, as Get Transaction Record answers them. */
  records: Map<string, TruliooRecord>;
  verifies: number;
  failNext: number;
  close(): Promise<void>;
}

export async function startTruliooStub(clientId = "trulioo-client-id", clientSecret = "trulioo-client-secret"): Promise<TruliooStub> {
  const tokens = new Set<string>();
  const stub = { clientId, clientSecret, outcomes: new Map(), records: new Map(), verifies: 0, failNext: 0 } as unknown as TruliooStub;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0]!;
      const answer = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(json));
      };
      if (req.method === "POST" && path === "/connect/token") {
        const form = new URLSearchParams(body);
        if (form.get("grant_type") !== "client_credentials") return answer(400, { error: "unsupported_grant_type" });
        if (form.get("client_id") !== clientId || form.get("client_secret") !== clientSecret) return answer(400, { error: "invalid_client" });
        const token = randomBytes(32).toString("base64url");
        tokens.add(token);
        return answer(200, { access_token: token, expires_in: 1800, token_type: "Bearer", scope: form.get("scope") ?? "napi.api" });
      }
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!bearer || !tokens.has(bearer)) return answer(401, { Message: "Authorization has been denied for this request." });
      if (stub.failNext > 0) {
        stub.failNext -= 1;
        return answer(503, { Message: "Service unavailable" });
      }
      if (req.method === "POST" && path === "/v3/verifications/verify") {
        let b: Record<string, unknown> & { DataFields?: { PersonInfo?: unknown }; CustomerReferenceID?: string };
        try {
          b = JSON.parse(body) as typeof b;
        } catch {
          return answer(400, { Message: "The request is invalid." });
        }
        if (b.AcceptTruliooTermsAndConditions !== true) return answer(400, { Message: "AcceptTruliooTermsAndConditions must be true" });
        for (const f of ["ConfigurationName", "CountryCode"]) if (typeof b[f] !== "string" || !b[f]) return answer(400, { Message: `${f} is required` });
        if (!b.DataFields?.PersonInfo) return answer(400, { Message: "DataFields is required" });
        stub.verifies += 1;
        const status = (b.CustomerReferenceID && stub.outcomes.get(b.CustomerReferenceID)) || "match";
        const record: TruliooRecord = {
          TransactionID: randomUUID(),
          UploadedDt: new Date().toISOString().replace(/\.\d+Z$/, ""),
          CountryCode: String(b.CountryCode),
          ProductName: String(b.ConfigurationName),
          CustomerReferenceID: b.CustomerReferenceID,
          Record: {
            TransactionRecordID: randomUUID(),
            RecordStatus: status,
            DatasourceResults: [
              {
                DatasourceName: "Credit Agency",
                DatasourceFields: ["FirstGivenName", "FirstSurName", "DayOfBirth", "MonthOfBirth", "YearOfBirth"].map((FieldName) => ({
                  FieldName,
                  Status: status,
                })),
                Errors: [],
                AppendedFields: [],
              },
            ],
            Errors: [],
            Rule: { RuleName: "Name and DOB", Note: "" },
          },
          Errors: [],
        };
        stub.records.set(record.Record.TransactionRecordID, record);
        return answer(200, record);
      }
      const m = /^\/v3\/verifications\/transactionrecord\/([^/]+)$/.exec(path);
      if (req.method === "GET" && m) {
        const record = stub.records.get(decodeURIComponent(m[1]!));
        return record ? answer(200, record) : answer(404, { Message: "Transaction not available" });
      }
      answer(404, { Message: "No HTTP resource was found that matches the request URI." });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.tokenUrl = `${stub.url}/connect/token`;
  stub.close = () => new Promise((r) => server.close(() => r()));
  return stub;
}
