// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the registrar's corporate-action API, shaped like an ordinary REST
 * endpoint with idempotency keys: `POST /corporate-actions` with `Authorization: Bearer <key>`
 * and an `Idempotency-Key` header. A new key answers 201 `{id, status: "received", ...}`; a
 * key seen before answers 200 with the same record (it is stored once). `failNext = n` makes
 * the next n requests answer 503. Every attempt's key and body is kept in `attempts`.
 */
export interface RegistrarStub {
  url: string;
  apiKey: string;
  attempts: { idempotencyKey: string | undefined; status: number; body: string }[];
  /** Notices recorded, one per idempotency key. */
  notices: Map<string, { id: string; notice: Record<string, unknown> }>;
  failNext: number;
  close(): Promise<void>;
}

export async function startRegistrarStub(apiKey = "registrar-test-key"): Promise<RegistrarStub> {
  let nextId = 1;
  const stub = { apiKey, attempts: [], notices: new Map(), failNext: 0 } as unknown as RegistrarStub;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const key = req.headers["idempotency-key"] as string | undefined;
      const answer = (status: number, json: unknown) => {
        stub.attempts.push({ idempotencyKey: key, status, body });
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (req.method !== "POST" || req.url !== "/corporate-actions") return answer(404, { error: { code: "not_found", message: "Not found" } });
      if (req.headers.authorization !== `Bearer ${apiKey}`) return answer(401, { error: { code: "unauthorized", message: "Invalid API key" } });
      if (stub.failNext > 0) {
        stub.failNext -= 1;
        return answer(503, { error: { code: "unavailable", message: "Service temporarily unavailable" } });
      }
      if (!key) return answer(400, { error: { code: "missing_idempotency_key", message: "Idempotency-Key header is required" } });
      let notice: Record<string, unknown>;
      try {
        notice = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return answer(400, { error: { code: "invalid_json", message: "Body is not JSON" } });
      }
      for (const field of ["tokenAddress", "actionType", "recordDate"]) {
        if (typeof notice[field] !== "string") return answer(422, { error: { code: "invalid_request", message: `${field} is required` } });
      }
      const seen = stub.notices.get(key);
      if (seen) return answer(200, { id: seen.id, status: "received", ...seen.notice });
      const id = `CA-${String(nextId++).padStart(6, "0")}`;
      stub.notices.set(key, { id, notice });
      answer(201, { id, status: "received", ...notice });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/corporate-actions`;
  stub.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return stub;
}
