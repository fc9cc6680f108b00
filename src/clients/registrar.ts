import { callProvider, ProviderError } from "./http-error.js";

/** A corporate-action notice as the registrar API takes it. */
export interface CorporateActionNotice {
  tokenAddress: string;
  actionType: "dividend" | "stock_split" | "rights_issue" | "redemption";
  recordDate: string;
  paymentDate?: string;
  ratio?: string;
  /** Our own id of the action (the distribution id), for the registrar's cross-reference. */
  clientReference?: string;
  /** The block whose state decides who is entitled (tokenized securities). */
  recordBlock?: string;
  /** When the action was declared; part of the notice, so every retry sends the same body. */
  timestamp?: string;
}

export interface RegistrarClient {
  /**
   * Send a notice. `idempotencyKey` must be the same on every retry of the same notice so
   * the registrar records it once however often we send it.
   */
  notify(notice: CorporateActionNotice, idempotencyKey: string): Promise<{ reference: string }>;
}

export function createRegistrarClient(opts: { url: string; apiKey: string; timeoutMs: number }): RegistrarClient {
  return {
    async notify(notice, idempotencyKey) {
      const res = await callProvider(
        opts.url,
        {
          method: "POST",
          headers: {
            authorization: `Bearer ${opts.apiKey}`,
            "content-type": "application/json",
            "idempotency-key": idempotencyKey,
          },
          body: JSON.stringify(notice),
        },
        // 409: a request with this key is still in flight at the registrar; 408: it timed out.
        { provider: "registrar", timeoutMs: opts.timeoutMs, retryable4xx: [408, 409], refused: "refused the notice" },
      );
      const body = (await res.json().catch(() => undefined)) as { id?: unknown; reference?: unknown } | undefined;
      const reference = body?.id ?? body?.reference;
      // Accepted but no id: we cannot prove what was recorded; retry (same key) until it says.
      if (typeof reference !== "string" && typeof reference !== "number")
        throw new ProviderError("registrar accepted the notice without an id", "bad_response", true);
      return { reference: String(reference) };
    },
  };
}

/** The registrar client from config, or undefined when it is not configured (notices wait). */
export function buildRegistrar(config: { REGISTRAR_API_URL?: string; REGISTRAR_API_KEY?: string; REGISTRAR_TIMEOUT_MS: number }): RegistrarClient | undefined {
  if (!config.REGISTRAR_API_URL || !config.REGISTRAR_API_KEY) return undefined;
  return createRegistrarClient({ url: config.REGISTRAR_API_URL, apiKey: config.REGISTRAR_API_KEY, timeoutMs: config.REGISTRAR_TIMEOUT_MS });
}
