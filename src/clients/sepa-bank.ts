import { callProvider, jsonBody, ProviderError } from "./http-error.js";

/** What the bank answered for an uploaded payment file. */
export interface SubmittedFile {
  /** The bank's id of the file. */
  fileId: string;
  /** True when the bank already had a file with this MsgId (a retry after a crash): success all the same. */
  duplicate: boolean;
}

export interface SepaBankClient {
  /**
   * Upload one pain.008 file. The bank refuses a second file with the same `MsgId` (409);
   * that answer means our earlier upload arrived, so the file id is then looked up by MsgId.
   */
  submitFile(msgId: string, xml: string): Promise<SubmittedFile>;
}

const fileIdOf = (body: unknown, provider: string): string => {
  const id = (body as { fileId?: unknown } | undefined)?.fileId;
  if (typeof id !== "string" || id.length === 0) throw new ProviderError(`${provider} answered without a fileId`, "bad_response", true);
  return id;
};

/**
 * The bank's payment-file API: `POST {base}/payment-files` with the XML body
 * (`Content-Type: application/xml`, bearer key) answers 201 `{fileId, status}`; a MsgId it has
 * seen answers 409; `GET {base}/payment-files?messageId=` finds the file of a MsgId.
 */
export function createSepaBankClient(opts: { baseUrl: string; apiKey: string; timeoutMs: number }): SepaBankClient {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const provider = "sepa-bank";
  const auth = { authorization: `Bearer ${opts.apiKey}` };
  return {
    async submitFile(msgId, xml) {
      try {
        const res = await callProvider(
          `${base}/payment-files`,
          { method: "POST", headers: { ...auth, "content-type": "application/xml", accept: "application/json" }, body: xml },
          { provider, timeoutMs: opts.timeoutMs, refused: "refused the payment file" },
        );
        return { fileId: fileIdOf(await jsonBody(res, provider), provider), duplicate: false };
      } catch (err) {
        if (!(err instanceof ProviderError) || err.status !== 409) throw err;
      }
      const res = await callProvider(
        `${base}/payment-files?messageId=${encodeURIComponent(msgId)}`,
        { method: "GET", headers: { ...auth, accept: "application/json" } },
        // 404 right after a 409: the bank's index may lag its duplicate check; ask again later.
        { provider, timeoutMs: opts.timeoutMs, retryable4xx: [404], refused: "refused the file lookup" },
      );
      return { fileId: fileIdOf(await jsonBody(res, provider), provider), duplicate: true };
    },
  };
}

/** The bank client from config, or undefined when it is not configured (collections wait). */
export function buildSepaBank(config: { SEPA_BANK_API_URL?: string; SEPA_BANK_API_KEY?: string; SEPA_BANK_TIMEOUT_MS: number }): SepaBankClient | undefined {
  if (!config.SEPA_BANK_API_URL || !config.SEPA_BANK_API_KEY) return undefined;
  return createSepaBankClient({ baseUrl: config.SEPA_BANK_API_URL, apiKey: config.SEPA_BANK_API_KEY, timeoutMs: config.SEPA_BANK_TIMEOUT_MS });
}
