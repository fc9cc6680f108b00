// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for Onfido's API v3.6 (https://documentation.onfido.com; the OpenAPI
 * description github.com/onfido/onfido-openapi-spec), the calls hookrail makes:
 *
 * - `GET /v3.6/checks/{check_id}`, `GET /v3.6/reports/{report_id}` (the webhook processor);
 * - `POST /v3.6/applicants` `{first_name, last_name, dob}` -> 201 applicant (422 without names);
 * - `POST /v3.6/workflow_runs` `{workflow_id, applicant_id, customer_user_id, tags}` -> 201 run
 *   with `status: "awaiting_input"` and `link.url` (422 for an unknown workflow or applicant);
 * - `GET /v3.6/workflow_runs?tags=...` (runs carrying every tag, newest first) and
 *   `GET /v3.6/workflow_runs/{id}`.
 *
 * Requests must carry `Authorization: Token token=<api token>`; errors answer as Onfido
 * documents them, `{"error": {"type", "message", "fields"}}`: 401 `authorization_error`, 404
 * `resource_not_found`, 422 `validation_error`, 405 for other methods. `failNext = n` answers
 * the next n requests 503. Tests put checks, reports and run statuses in the maps; every
 * request is counted in `requests`.
 */
export interface OnfidoStub {
  url: string;
  apiToken: string;
  /** The Studio workflow ids runs may be created for. */
  workflowId: string;
  checks: Map<string, Record<string, unknown>>;
  reports: Map<string, Record<string, unknown>>;
  applicants: Map<string, Record<string, unknown>>;
  workflowRuns: Map<string, Record<string, unknown> & { id: string; status: string; tags: string[]; applicant_id: string }>;
  requests: { method: string; path: string; status: number }[];
  failNext: number;
  close(): Promise<void>;
}

const error = (type: string, message: string, fields: Record<string, string[]> = {}) => ({ error: { type, message, fields } });

export async function startOnfidoStub(apiToken = "api_sandbox.onfido-test-token", workflowId: string = randomUUID()): Promise<OnfidoStub> {
  const stub = {
    apiToken,
    workflowId,
    checks: new Map(),
    reports: new Map(),
    applicants: new Map(),
    workflowRuns: new Map(),
    requests: [],
    failNext: 0,
  } as unknown as OnfidoStub;
  const server: Server = createServer((req, res) => {
    const [path = "", query = ""] = (req.url ?? "").split("?") as [string, string?];
    const answer = (status: number, json: unknown) => {
      stub.requests.push({ method: req.method ?? "", path, status });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      if (req.headers.authorization !== `Token token=${apiToken}`) {
        return answer(401, error("authorization_error", "Authorization error: please re-check your credentials"));
      }
      if (stub.failNext > 0) {
        stub.failNext -= 1;
        return answer(503, error("service_unavailable", "Service temporarily unavailable"));
      }
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        return answer(400, error("bad_request", "Invalid JSON"));
      }
      const now = new Date().toISOString();
      if (path === "/v3.6/applicants" && req.method === "POST") {
        const missing = ["first_name", "last_name"].filter((f) => typeof body[f] !== "string" || body[f] === "");
        if (missing.length)
          return answer(
            422,
            error("validation_error", "There was a validation error on this request", Object.fromEntries(missing.map((f) => [f, ["can't be blank"]]))),
          );
        const id = randomUUID();
        const applicant = {
          id,
          created_at: now,
          delete_at: null,
          href: `/v3.6/applicants/${id}`,
          sandbox: true,
          first_name: body.first_name,
          last_name: body.last_name,
          dob: body.dob ?? null,
        };
        stub.applicants.set(id, applicant);
        return answer(201, applicant);
      }
      if (path === "/v3.6/workflow_runs" && req.method === "POST") {
        if (body.workflow_id !== stub.workflowId)
          return answer(422, error("validation_error", "There was a validation error on this request", { workflow_id: ["not found"] }));
        if (typeof body.applicant_id !== "string" || !stub.applicants.has(body.applicant_id)) {
          return answer(422, error("validation_error", "There was a validation error on this request", { applicant_id: ["not found"] }));
        }
        const id = randomUUID();
        const run = {
          id,
          applicant_id: body.applicant_id,
          workflow_id: body.workflow_id,
          workflow_version_id: 1,
          status: "awaiting_input",
          dashboard_url: `https://dashboard.onfido.com/results/${id}`,
          output: null,
          reasons: [],
          error: null,
          sdk_token: randomBytes(24).toString("base64url"),
          customer_user_id: typeof body.customer_user_id === "string" ? body.customer_user_id : null,
          tags: Array.isArray(body.tags) ? body.tags.map(String) : [],
          link: {
            url: `https://eu.onfido.app/l/${randomBytes(6).toString("base64url")}`,
            completed_redirect_url: null,
            expired_redirect_url: null,
            expires_at: null,
            language: null,
          },
          created_at: now,
          updated_at: now,
        };
        stub.workflowRuns.set(id, run);
        return answer(201, run);
      }
      if (path === "/v3.6/workflow_runs" && req.method === "GET") {
        const tags = new URLSearchParams(query).getAll("tags");
        const runs = [...stub.workflowRuns.values()].filter((r) => tags.every((t) => r.tags.includes(t))).reverse();
        return answer(200, runs);
      }
      const run = /^\/v3\.6\/workflow_runs\/([^/]+)$/.exec(path);
      if (run && req.method === "GET") {
        const found = stub.workflowRuns.get(decodeURIComponent(run[1]!));
        return found ? answer(200, found) : answer(404, error("resource_not_found", "The resource could not be found"));
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
