import { z } from "zod";
import { jsonBody, ProviderError } from "./http-error.js";
import { bearerCall, clientCredentials } from "./oauth2.js";

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

/** `POST /api/v1/accounts` as it answers (what we read): the account, the web client's link, the workflow execution. */
const accountSchema = z.looseObject({
  account: z.looseObject({ id: z.string().min(1) }),
  web: z.looseObject({ href: z.string().url() }),
  workflowExecution: z.looseObject({ id: z.string().min(1) }),
});
export type JumioAccount = z.output<typeof accountSchema>;

export interface JumioAccountRequest {
  /** Our investor id: the reference of the request and of the end user (no personal data, as Jumio asks). */
  customerInternalReference: string;
  userReference: string;
  workflowKey: number;
  /** How long the web link stays valid, in Jumio's notation (`600s`, `30m`, `7d`). */
  tokenLifetime: string;
}

export interface JumioClient {
  getWorkflowExecution(accountId: string, workflowExecutionId: string): Promise<JumioWorkflowExecution>;
  createAccount(req: JumioAccountRequest): Promise<JumioAccount>;
}

export interface JumioClientOptions {
  tokenUrl: string;
  apiUrl: string;
  /** The account API's base (https://account.amer-1.jumio.ai); only needed to create accounts. */
  accountUrl?: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  now?: () => number;
}

/**
 * Jumio's KYX APIs as documented (https://documentation.jumio.ai, "Authorization", "Account"
 * and "Retrieval"): an OAuth2 client-credentials token from the token URL (HTTP Basic client id
 * and secret), cached until it expires (./oauth2.ts), then `Authorization: Bearer` on the
 * account API (`POST /api/v1/accounts`, which also needs a User-Agent) and the retrieval API.
 */
export function createJumioClient(opts: JumioClientOptions): JumioClient {
  const api = opts.apiUrl.replace(/\/+$/, "");
  const tokens = clientCredentials({
    provider: "Jumio OAuth2",
    tokenUrl: opts.tokenUrl,
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
    credentialsIn: "basic",
    timeoutMs: opts.timeoutMs,
    now: opts.now,
  });
  const read = async <S extends z.ZodType>(res: Response, schema: S, what: string): Promise<z.output<S>> => {
    const parsed = schema.safeParse(await jsonBody(res, "Jumio"));
    if (!parsed.success) throw new ProviderError(`Jumio ${what} has an unexpected shape`, "bad_response", true);
    return parsed.data;
  };

  return {
    async getWorkflowExecution(accountId, workflowExecutionId) {
      const url = `${api}/api/v1/accounts/${encodeURIComponent(accountId)}/workflow-executions/${encodeURIComponent(workflowExecutionId)}`;
      const res = await bearerCall(
        tokens,
        url,
        { method: "GET" },
        { provider: "Jumio", timeoutMs: opts.timeoutMs, refused: "refused to return the workflow execution" },
      );
      return read(res, executionSchema, "workflow execution");
    },
    async createAccount(req) {
      if (!opts.accountUrl) throw new ProviderError("Jumio account API is not configured (JUMIO_ACCOUNT_URL)", "http_4xx", false);
      const res = await bearerCall(
        tokens,
        `${opts.accountUrl.replace(/\/+$/, "")}/api/v1/accounts`,
        {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "hookrail" },
          body: JSON.stringify({
            customerInternalReference: req.customerInternalReference,
            userReference: req.userReference,
            tokenLifetime: req.tokenLifetime,
            workflowDefinition: { key: req.workflowKey },
          }),
        },
        { provider: "Jumio", timeoutMs: opts.timeoutMs, refused: "refused to create the account" },
      );
      return read(res, accountSchema, "account");
    },
  };
}

/** The Jumio client from config, or undefined when its API is not configured (Jumio callbacks wait). */
export function buildJumio(config: {
  JUMIO_TOKEN_URL?: string;
  JUMIO_API_URL?: string;
  JUMIO_ACCOUNT_URL?: string;
  JUMIO_CLIENT_ID?: string;
  JUMIO_CLIENT_SECRET?: string;
  KYC_PROVIDER_TIMEOUT_MS: number;
}): JumioClient | undefined {
  const { JUMIO_TOKEN_URL: tokenUrl, JUMIO_API_URL: apiUrl, JUMIO_CLIENT_ID: clientId, JUMIO_CLIENT_SECRET: clientSecret } = config;
  if (!tokenUrl || !apiUrl || !clientId || !clientSecret) return undefined;
  return createJumioClient({ tokenUrl, apiUrl, accountUrl: config.JUMIO_ACCOUNT_URL, clientId, clientSecret, timeoutMs: config.KYC_PROVIDER_TIMEOUT_MS });
}
