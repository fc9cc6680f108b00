import { z } from "zod";
import { callProvider, jsonBody, ProviderError } from "./http-error.js";

/** The API version the client speaks; Onfido puts it in the path. */
export const ONFIDO_API_VERSION = "v3.6";

/**
 * The tag our outbound side puts on every check it creates for an investor: `investor:<id>`.
 * An Onfido applicant (v3.6) has no field for a client's own id, but a check has `tags`, and the
 * check is what check.completed names, so it maps to the investor without a second call.
 */
export const INVESTOR_TAG_PREFIX = "investor:";

/** A check as `GET /v3.6/checks/{id}` returns it (the fields we read; others are kept). */
const checkSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  result: z.enum(["clear", "consider"]).nullish(),
  applicant_id: z.string().min(1),
  tags: z.array(z.string()).nullish(),
  created_at: z.string().nullish(),
});
export type OnfidoCheck = z.output<typeof checkSchema>;

/** A report as `GET /v3.6/reports/{id}` returns it: report.completed names a report, whose check decides. */
const reportSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  result: z.string().nullish(),
  check_id: z.string().min(1),
});
export type OnfidoReport = z.output<typeof reportSchema>;

/** An applicant as `POST /v3.6/applicants` answers it (what we read). */
const applicantSchema = z.looseObject({ id: z.string().min(1) });

/** A Studio workflow run as `POST /v3.6/workflow_runs` and `GET /v3.6/workflow_runs[/{id}]` return it (what we read). */
const workflowRunSchema = z.looseObject({
  id: z.string().min(1),
  applicant_id: z.string().min(1),
  workflow_id: z.string().nullish(),
  status: z.string().nullish(),
  customer_user_id: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
  link: z.looseObject({ url: z.string().nullish() }).nullish(),
  reasons: z.array(z.string()).nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
});
export type OnfidoWorkflowRun = z.output<typeof workflowRunSchema>;

export interface OnfidoClient {
  getCheck(id: string): Promise<OnfidoCheck>;
  getReport(id: string): Promise<OnfidoReport>;
  createApplicant(a: { first_name: string; last_name: string; dob: string }): Promise<{ id: string }>;
  createWorkflowRun(r: { workflow_id: string; applicant_id: string; customer_user_id: string; tags: string[] }): Promise<OnfidoWorkflowRun>;
  /** `GET /v3.6/workflow_runs?tags=...`: the runs carrying every tag given (first page, newest first). */
  findWorkflowRuns(tags: string[]): Promise<OnfidoWorkflowRun[]>;
  getWorkflowRun(id: string): Promise<OnfidoWorkflowRun>;
}

/**
 * Onfido's API as documented (https://documentation.onfido.com, and its OpenAPI description
 * github.com/onfido/onfido-openapi-spec): the API token goes in `Authorization: Token
 * token=<token>`; errors answer `{"error": {"type", "message", "fields"}}`, classified by status
 * by callProvider (404 for a check that does not exist is final, 429 and 5xx are retried).
 */
export function createOnfidoClient(opts: { baseUrl: string; apiToken: string; timeoutMs: number }): OnfidoClient {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const call = async <S extends z.ZodType>(method: "GET" | "POST", path: string, schema: S, what: string, body?: unknown): Promise<z.output<S>> => {
    const headers: Record<string, string> = { authorization: `Token token=${opts.apiToken}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await callProvider(
      `${base}/${ONFIDO_API_VERSION}/${path}`,
      { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
      { provider: "Onfido", timeoutMs: opts.timeoutMs, refused: method === "GET" ? `refused to return the ${what}` : `refused to create the ${what}` },
    );
    const parsed = schema.safeParse(await jsonBody(res, "Onfido"));
    if (!parsed.success) throw new ProviderError(`Onfido ${what} has an unexpected shape`, "bad_response", true);
    return parsed.data;
  };
  return {
    getCheck: (id) => call("GET", `checks/${encodeURIComponent(id)}`, checkSchema, "check"),
    getReport: (id) => call("GET", `reports/${encodeURIComponent(id)}`, reportSchema, "report"),
    createApplicant: (a) => call("POST", "applicants", applicantSchema, "applicant", a),
    createWorkflowRun: (r) => call("POST", "workflow_runs", workflowRunSchema, "workflow run", r),
    findWorkflowRuns: (tags) =>
      call("GET", `workflow_runs?${tags.map((t) => `tags=${encodeURIComponent(t)}`).join("&")}`, z.array(workflowRunSchema), "workflow runs"),
    getWorkflowRun: (id) => call("GET", `workflow_runs/${encodeURIComponent(id)}`, workflowRunSchema, "workflow run"),
  };
}

/** The Onfido client from config, or undefined when its API is not configured (Onfido jobs wait). */
export function buildOnfido(config: { ONFIDO_API_URL?: string; ONFIDO_API_TOKEN?: string; KYC_PROVIDER_TIMEOUT_MS: number }): OnfidoClient | undefined {
  if (!config.ONFIDO_API_URL || !config.ONFIDO_API_TOKEN) return undefined;
  return createOnfidoClient({ baseUrl: config.ONFIDO_API_URL, apiToken: config.ONFIDO_API_TOKEN, timeoutMs: config.KYC_PROVIDER_TIMEOUT_MS });
}
