// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for Onfido's API v3.6 (https://documentation.onfido.com), the two reads the
 * processor makes: `GET /v3.6/checks/{check_id}` and `GET /v3.6/reports/{report_id}`. Requests
 * must carry `Authorization: Token token=<api token>`; errors answer as Onfido documents them,
 * `{"error": {"type", "message", "fields"}}`: 401 `authorization_error`, 404
 * `resource_not_found`, 405 for other methods. `failNext = n` answers the next n requests 503.
 * Tests put checks and reports in the maps; every request is counted in `requests`.
 */
export interface OnfidoStub {
  url: string;
  apiToken: string;
  checks: Map<string, Record<string, unknown>>;
  reports: Map<string, Record<string, unknown>>;
  requests: { method: string; path: string; status: number }[];
  failNext: number;
  close(): Promise<void>;
}

const error = (type: string, message: string) => ({ error: { type, message, fields: {} } });

export async function startOnfidoStub(apiToken = "api_sandbox.onfido-test-token"): Promise<OnfidoStub> {
  const stub = { apiToken, checks: new Map(), reports: new Map(), requests: [], failNext: 0 } as unknown as OnfidoStub;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0]!;
    const answer = (status: number, json: unknown) => {
      stub.requests.push({ method: req.method ?? "", path, status });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    req.resume();
    req.on("end", () => {
      if (req.headers.authorization !== `Token token=${apiToken}`) {
        return answer(401, error("authorization_error", "Authorization error: please re-check your credentials"));
      }
      if (stub.failNext > 0) {
        stub.failNext -= 1;
        return answer(503, error("service_unavailable", "Service temporarily unavailable"));
      }
      const m = /^\/v3\.6\/(checks|reports)\/([^/]+)$/.exec(path);
      if (!m) return answer(404, error("resource_not_found", "The resource could not be found"));
      if (req.method !== "GET") return answer(405, error("method_not_allowed", "Method not allowed"));
      const found = (m[1] === "checks" ? stub.checks : stub.reports).get(decodeURIComponent(m[2]!));
      if (!found) return answer(404, error("resource_not_found", "The resource could not be found"));
      answer(200, found);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () => new Promise((r) => server.close(() => r()));
  return stub;
}

/** A check object shaped like the documented one, for tests and dev. */
export function onfidoCheck(base: string, id: string, fields: { applicantId: string; result: "clear" | "consider" | null; status?: string; tags?: string[] }) {
  return {
    id,
    created_at: "2019-10-28T14:55:09Z",
    status: fields.status ?? "complete",
    redirect_uri: null,
    result: fields.result,
    sandbox: true,
    tags: fields.tags ?? [],
    results_uri: `https://dashboard.onfido.com/checks/${id}`,
    form_uri: null,
    paused: false,
    version: "3.6",
    report_ids: [],
    href: `${base}/v3.6/checks/${id}`,
    applicant_id: fields.applicantId,
    applicant_provides_data: false,
  };
}
