import { z } from "zod";
import { callProvider, type CallOptions, jsonBody, ProviderError } from "./http-error.js";

const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.number().positive(), token_type: z.string() });

export interface ClientCredentialsOptions {
  /** Named in error messages, e.g. "Jumio OAuth2". */
  provider: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /**
   * How the client authenticates at the token URL: HTTP Basic (Jumio) or `client_id` and
   * `client_secret` in the form body (Trulioo), as each provider documents it.
   */
  credentialsIn: "basic" | "body";
  scope?: string;
  timeoutMs: number;
  now?: () => number;
}

/** A bearer token, fetched once and reused until shortly before it expires. */
export interface TokenSource {
  token(): Promise<string>;
  /** Forget the cached token (the API answered 401: revoked or expired early). */
  invalidate(): void;
}

/** Renew this long before the token's stated expiry, so a request never carries one that lapses in flight. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * An OAuth2 client-credentials grant (RFC 6749 §4.4): `grant_type=client_credentials` answered
 * with `{access_token, expires_in, token_type}`. Providers ask that a token be reused until it
 * expires rather than fetched per call, so it is cached; concurrent callers share one fetch. A
 * refusal of the credentials (400 invalid_client, 401, 403) is final and its message names no secret.
 */
export function clientCredentials(opts: ClientCredentialsOptions): TokenSource {
  const now = opts.now ?? Date.now;
  let cached: { token: string; renewAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (opts.scope) form.set("scope", opts.scope);
    const headers: Record<string, string> = { accept: "application/json", "content-type": "application/x-www-form-urlencoded" };
    if (opts.credentialsIn === "basic") headers.authorization = `Basic ${Buffer.from(`${opts.clientId}:${opts.clientSecret}`).toString("base64")}`;
    else {
      form.set("client_id", opts.clientId);
      form.set("client_secret", opts.clientSecret);
    }
    const res = await callProvider(
      opts.tokenUrl,
      { method: "POST", headers, body: form.toString() },
      { provider: opts.provider, timeoutMs: opts.timeoutMs, refused: "refused the client credentials" },
    );
    const parsed = tokenSchema.safeParse(await jsonBody(res, opts.provider));
    if (!parsed.success) throw new ProviderError(`${opts.provider} answer has an unexpected shape`, "bad_response", true);
    cached = { token: parsed.data.access_token, renewAt: now() + parsed.data.expires_in * 1000 - EXPIRY_MARGIN_MS };
    return cached.token;
  }

  return {
    token() {
      if (cached && now() < cached.renewAt) return Promise.resolve(cached.token);
      inFlight ??= fetchToken().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    invalidate: () => {
      cached = undefined;
    },
  };
}

/**
 * One API call with the source's bearer token. A 401 is retryable (the token was revoked or
 * expired early) and drops the cached token, so the job's retry fetches a new one.
 */
export async function bearerCall(
  tokens: TokenSource,
  url: string,
  init: RequestInit & { headers?: Record<string, string> },
  opts: CallOptions,
): Promise<Response> {
  const bearer = await tokens.token();
  try {
    return await callProvider(
      url,
      { ...init, headers: { ...init.headers, authorization: `Bearer ${bearer}`, accept: "application/json" } },
      { ...opts, retryable4xx: [...(opts.retryable4xx ?? []), 401] },
    );
  } catch (err) {
    if (err instanceof ProviderError && err.status === 401) tokens.invalidate();
    throw err;
  }
}
