import { z } from "zod";
import type { KycStatus } from "../../db/schema.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import { jsonBody, ProviderError } from "../http-error.js";
import { bearerCall, clientCredentials } from "../oauth2.js";
import type { KycAdapter, KycVerdict } from "./adapter.js";
import { createOnce } from "./submit-once.js";

/** The Verify answer and a transaction record (`GET /v3/verifications/transactionrecord/{id}`), the fields we read. */
const resultSchema = z.looseObject({
  TransactionID: z.string().nullish(),
  UploadedDt: z.string().nullish(),
  Record: z.looseObject({ TransactionRecordID: z.string().min(1), RecordStatus: z.string() }),
});
type TruliooResult = z.output<typeof resultSchema>;

/**
 * A record's status in our terms: `match` -> approved; `nomatch` -> in review (the data did not
 * verify against Trulioo's sources: a typo and a false identity look the same here, so a
 * person follows up, as for the Workflow Studio webhook's `match: false`). Anything else is no verdict.
 */
const RECORD_STATUS: Record<string, KycStatus> = { match: "approved", nomatch: "in_review" };

export const truliooVerdictKey = (transactionRecordId: string, status: KycStatus) => `trulioo:${transactionRecordId}:${status}`;

function truliooVerdict(r: { transactionRecordId: string; recordStatus: string; uploadedDt?: string | null }, now: Date): KycVerdict | undefined {
  const status = RECORD_STATUS[r.recordStatus];
  if (!status) return undefined;
  return {
    status,
    verdictKey: truliooVerdictKey(r.transactionRecordId, status),
    // UploadedDt is UTC without a zone designator.
    eventAt: parseProviderTime(r.uploadedDt && !/[zZ]|[+-]\d\d:?\d\d$/.test(r.uploadedDt) ? `${r.uploadedDt}Z` : r.uploadedDt) ?? now,
    eventType: `record:${r.recordStatus}`,
    details: { transactionRecordId: r.transactionRecordId, recordStatus: r.recordStatus },
  };
}

export interface TruliooAdapterOptions {
  tokenUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  configurationName: string;
  timeoutMs: number;
  now?: () => number;
}

/**
 * Trulioo's outbound side, the Platform API v3 (https://developer.trulioo.com): an OAuth2
 * client-credentials token from `https://auth-api.trulioo.com/connect/token` (client id and
 * secret in the form body, scope `napi.api`), then `POST /v3/verifications/verify` with the
 * investor's names and date of birth, `CountryCode` = nationality and `CustomerReferenceID` =
 * our investor id. Verify answers at once with the record (`TransactionRecordID`,
 * `RecordStatus`): its id is the applicant id, its status the verdict applied after the write;
 * there is no link for the investor. Trulioo documents no idempotency key and no lookup by
 * CustomerReferenceID, so the verify goes through createOnce (./submit-once.ts). Status:
 * `GET /v3/verifications/transactionrecord/{id}`.
 */
export function createTruliooAdapter(opts: TruliooAdapterOptions): KycAdapter {
  const now = opts.now ?? Date.now;
  const api = opts.apiUrl.replace(/\/+$/, "");
  const tokens = clientCredentials({
    provider: "Trulioo OAuth2",
    tokenUrl: opts.tokenUrl,
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
    credentialsIn: "body",
    scope: "napi.api",
    timeoutMs: opts.timeoutMs,
    now: opts.now,
  });
  const call = async (path: string, what: string, init: RequestInit & { headers?: Record<string, string> }): Promise<TruliooResult> => {
    const res = await bearerCall(tokens, `${api}${path}`, init, { provider: "Trulioo", timeoutMs: opts.timeoutMs, refused: what });
    const parsed = resultSchema.safeParse(await jsonBody(res, "Trulioo"));
    if (!parsed.success) throw new ProviderError("Trulioo verification result has an unexpected shape", "bad_response", true);
    return parsed.data;
  };
  return {
    provider: "trulioo",
    async submit(i, ctx) {
      const [year, month, day] = i.dateOfBirth.split("-").map(Number) as [number, number, number];
      const { value, existing } = await createOnce(ctx, {
        key: "verifyCreate",
        what: "Trulioo verification",
        reference: (since) => `CustomerReferenceID ${i.id}, from ${since} on`,
        stored: (p) =>
          p.transactionRecordId && p.recordStatus
            ? { transactionRecordId: p.transactionRecordId, recordStatus: p.recordStatus, uploadedDt: p.uploadedDt }
            : undefined,
        create: async () => {
          const r = await call("/v3/verifications/verify", "refused the verification", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              AcceptTruliooTermsAndConditions: true,
              ConfigurationName: opts.configurationName,
              CountryCode: i.nationality,
              CustomerReferenceID: i.id,
              DataFields: { PersonInfo: { FirstGivenName: i.firstName, FirstSurName: i.lastName, DayOfBirth: day, MonthOfBirth: month, YearOfBirth: year } },
            }),
          });
          return { transactionRecordId: r.Record.TransactionRecordID, recordStatus: r.Record.RecordStatus, uploadedDt: r.UploadedDt ?? undefined };
        },
        toProgress: (v) => ({
          transactionRecordId: v.transactionRecordId,
          recordStatus: v.recordStatus,
          ...(v.uploadedDt ? { uploadedDt: v.uploadedDt } : {}),
        }),
      });
      return { applicantId: value.transactionRecordId, verificationUrl: null, existing, verdict: truliooVerdict(value, new Date(now())) };
    },
    async status({ applicantId }) {
      const r = await call(`/v3/verifications/transactionrecord/${encodeURIComponent(applicantId)}`, "refused to return the transaction record", {
        method: "GET",
      });
      return (
        truliooVerdict({ transactionRecordId: r.Record.TransactionRecordID, recordStatus: r.Record.RecordStatus, uploadedDt: r.UploadedDt }, new Date(now())) ??
        "pending"
      );
    },
  };
}
