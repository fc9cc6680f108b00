/** Why a call to a provider's API failed, and whether trying again may cure it. */
/**
 * `in_doubt`: a create the provider may or may not have carried out (its answer was lost) and
 * that it offers no way to look up: retrying could create a second one, so it is never retried.
 */
export type ProviderErrorKind = "http_5xx" | "http_429" | "http_4xx" | "network" | "bad_response" | "in_doubt";

/** Errors a retry may cure (5xx, 429, timeouts, network) vs. ones it won't (most 4xx). */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly kind: ProviderErrorKind,
    readonly retryable: boolean,
    /** The HTTP status, when the provider answered one. */
    readonly status?: number,
    /** True when the request never reached the provider (refused connection, unknown host): nothing happened there. */
    readonly notSent = false,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

export interface CallOptions {
  /** Named in error messages, e.g. "ComplyAdvantage". */
  provider: string;
  timeoutMs: number;
  /** 4xx statuses that mean "not yet" rather than "never" (a registrar's 409 for a key still in flight). */
  retryable4xx?: readonly number[];
  /** Wording of the refusal: "refused the search", "refused the notice". */
  refused?: string;
}

/** Connection errors before any byte of the request left (undici's fetch puts the code in `cause`). */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * One HTTP call to a provider, classified the same way for every client: no answer or a
 * timeout is `network` (retryable), 429 and 5xx are retryable, other 4xx are not unless the
 * caller lists them, and a 2xx is returned for the caller to read.
 */
export async function callProvider(url: string | URL, init: RequestInit, opts: CallOptions): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (err) {
    const code = ((err as { cause?: { code?: unknown } }).cause?.code ?? "") as string;
    throw new ProviderError(
      `${opts.provider} unreachable: ${(err as Error).message}${code ? ` (${code})` : ""}`,
      "network",
      true,
      undefined,
      NOT_SENT.has(code),
    );
  }
  if (res.ok) return res;
  // The body is not read further; release the socket.
  await res.body?.cancel().catch(() => {});
  if (res.status === 429) throw new ProviderError(`${opts.provider} rate limit (429)`, "http_429", true, 429);
  if (res.status >= 500) throw new ProviderError(`${opts.provider} answered ${res.status}`, "http_5xx", true, res.status);
  if (opts.retryable4xx?.includes(res.status)) throw new ProviderError(`${opts.provider} answered ${res.status}`, "http_4xx", true, res.status);
  throw new ProviderError(`${opts.provider} ${opts.refused ?? "refused the request"} (${res.status})`, "http_4xx", false, res.status);
}

/** The JSON body of a 2xx answer, or a retryable `bad_response` when it is not JSON. */
export async function jsonBody(res: Response, provider: string): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    throw new ProviderError(`${provider} answered with a body that is not JSON`, "bad_response", true);
  }
}
