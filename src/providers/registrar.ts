import { ProviderError } from "./complyadvantage.js";

/** A corporate-action notice as the registrar API takes it. */
export interface CorporateActionNotice {
  tokenAddress: string;
  actionType: "dividend" | "stock_split" | "rights_issue" | "redemption";
  recordDate: string;
  paymentDate?: string;
  ratio?: string;
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
      let res: Response;
      try {
        res = await fetch(opts.url, {
          method: "POST",
          headers: {
            authorization: `Bearer ${opts.apiKey}`,
            "content-type": "application/json",
            "idempotency-key": idempotencyKey,
          },
          body: JSON.stringify({ ...notice, timestamp: new Date().toISOString() }),
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
      } catch (err) {
        throw new ProviderError(`registrar unreachable: ${(err as Error).message}`, "network", true);
      }
      if (res.status === 429) throw new ProviderError("registrar rate limit (429)", "http_429", true);
      if (res.status >= 500) throw new ProviderError(`registrar answered ${res.status}`, "http_5xx", true);
      if (!res.ok) throw new ProviderError(`registrar refused the notice (${res.status})`, "http_4xx", false);
      const body = (await res.json().catch(() => ({}))) as { id?: unknown; reference?: unknown };
      const reference = String(body.reference ?? body.id ?? idempotencyKey);
      return { reference };
    },
  };
}
