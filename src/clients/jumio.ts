import { z } from "zod";
import { callProvider, jsonBody, ProviderError } from "./http-error.js";

const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.number().positive(), token_type: z.string() });

/** Workflow details as `GET /api/v1/accounts/{accountId}/workflow-executions/{workflowExecutionId}` return them (what we read). */
const executionSchema = z.looseObject({
  workflow: z.looseObject({
    id: z.string().min(1),
    status: z.string(),
    userReference: z.string().nullish(),
    customerInternalReference: z.string().nullish(),
  }),
  account: z.looseObject({ id: z.string().min(1) }),
  createdAt: z.string().nullish(),
  completedAt: z.string().nullish(),
  decision: z
    .looseObject({
      type: z.string(),
      details: z.looseObject({ label: z.string().nullish() }).nullish(),
    })
    .nullish(),
});
export type JumioWorkflowExecution = z.output<typeof executionSchema>;

export interface JumioClient {
  getWorkflowExecution(accountId: string, workflowExecutionId: string): Promise<JumioWorkflowExecution>;
}

export interface JumioClientOptions {
  tokenUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  now?: () => number;
}

/** Renew this long before the token's stated expiry, so a request never carries one that lapses in flight. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * Jumio's KYX APIs as documented (https://documentation.jumio.ai, "Authorization" and
 * "Retrieval"): an OAuth2 client-credentials token from the token URL (HTTP Basic client id and
 * secret, `grant_type=client_credentials`, answering `{access_token, expires_in, token_type}`),
 * then `Authorization: Bearer` on the retrieval API. Jumio asks that a token be reused until it
 * expires (60 minutes) rather than fetched per call, so it is cached; concurrent jobs share one
 * fetch. A 401 from the API drops the cached token (revoked or expired early) and retries.
 */
export function createJumioClient(opts: JumioClientOptions): JumioClient {
  const now = opts.now ?? Date.now;
  const api = opts.apiUrl.replace(/\/+$/, "");
  let cached: { token: string; renewAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const res = await callProvider(
      opts.tokenUrl,
      {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${opts.clientId}:${opts.clientSecret}`).toString("base64")}`,
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "grant_type=client_credentials",
      },
      { provider: "Jumio OAuth2", timeoutMs: opts.timeoutMs, refused: "refused the client credentials" },
    );
    const parsed = tokenSchema.safeParse(await jsonBody(res, "Jumio OAuth2"));
    if (!parsed.success) throw new ProviderError("Jumio OAuth2 answer has an unexpected shape", "bad_response", true);
    cached = { token: parsed.data.access_token, renewAt: now() + parsed.data.expires_in * 1000 - EXPIRY_MARGIN_MS };
    return cached.token;
  }

  function token(): Promise<string> {
    if (cached && now() < cached.renewAt) return Promise.resolve(cached.token);
    inFlight ??= fetchToken().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  return {
    async getWorkflowExecution(accountId, workflowExecutionId) {
      const bearer = await token();
      const url = `${api}/api/v1/accounts/${encodeURIComponent(accountId)}/workflow-executions/${encodeURIComponent(workflowExecutionId)}`;
      let res: Response;
      try {
        res = await callProvider(
          url,
          { method: "GET", headers: { authorization: `Bearer ${bearer}`, accept: "application/json" } },
          // 401: the token was revoked or expired early; a retry fetches a new one.
          { provider: "Jumio", timeoutMs: opts.timeoutMs, retryable4xx: [401], refused: "refused to return the workflow execution" },
        );
      } catch (err) {
        // The only retryable 4xx listed is 401.
        if (err instanceof ProviderError && err.kind === "http_4xx" && err.retryable) cached = undefined;
        throw err;
      }
      const parsed = executionSchema.safeParse(await jsonBody(res, "Jumio"));
      if (!parsed.success) throw new ProviderError("Jumio workflow execution has an unexpected shape", "bad_response", true);
      return parsed.data;
    },
  };
}

/** The Jumio client from config, or undefined when its API is not configured (Jumio callbacks wait). */
export function buildJumio(config: {
  JUMIO_TOKEN_URL?: string;
  JUMIO_API_URL?: string;
  JUMIO_CLIENT_ID?: string;
  JUMIO_CLIENT_SECRET?: string;
  KYC_PROVIDER_TIMEOUT_MS: number;
}): JumioClient | undefined {
  const { JUMIO_TOKEN_URL: tokenUrl, JUMIO_API_URL: apiUrl, JUMIO_CLIENT_ID: clientId, JUMIO_CLIENT_SECRET: clientSecret } = config;
  if (!tokenUrl || !apiUrl || !clientId || !clientSecret) return undefined;
  return createJumioClient({ tokenUrl, apiUrl, clientId, clientSecret, timeoutMs: config.KYC_PROVIDER_TIMEOUT_MS });
}
