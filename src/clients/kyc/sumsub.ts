import { createHmac } from "node:crypto";
import { z } from "zod";
import type { KycStatus } from "../../db/schema.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import { callProvider, jsonBody, ProviderError } from "../http-error.js";
import type { KycAdapter, KycApplicantInput, KycVerdict } from "./adapter.js";

/**
 * Sumsub's request signature (https://docs.sumsub.com/reference/authentication): lowercase hex
 * HMAC-SHA256, with the app token's secret key, of the timestamp (seconds, as sent in
 * X-App-Access-Ts) + the method in upper case + the path with its query + the raw body.
 */
export function sumsubSignature(secretKey: string, ts: string, method: string, pathWithQuery: string, body: string): string {
  return createHmac("sha256", secretKey).update(`${ts}${method.toUpperCase()}${pathWithQuery}${body}`).digest("hex");
}

const applicantSchema = z.looseObject({ id: z.string().min(1), externalUserId: z.string().nullish() });
const linkSchema = z.looseObject({ url: z.string().url() });
/** `GET /resources/applicants/{applicantId}/status` (https://docs.sumsub.com/reference/get-applicant-review-status). */
const reviewSchema = z.looseObject({
  reviewId: z.string().nullish(),
  reviewStatus: z.string().nullish(),
  reviewDate: z.string().nullish(),
  createDate: z.string().nullish(),
  reviewResult: z
    .looseObject({ reviewAnswer: z.string().nullish(), reviewRejectType: z.string().nullish(), rejectLabels: z.array(z.string()).nullish() })
    .nullish(),
});
export type SumsubReview = z.output<typeof reviewSchema>;

/**
 * One verdict of Sumsub, as the webhook mapper (src/processors/kyc/sumsub.ts) and the poll
 * both name it: the applicant and our status. Two rounds of review that reach the same status
 * share it; applyKycOutcome only treats it as a restatement of the verdict in force, so a later
 * round that changes the status back still applies.
 */
export const sumsubVerdictKey = (applicantId: string, status: KycStatus) => `sumsub:${applicantId}:${status}`;

/** A completed review's answer in our terms; the same rule the webhook mapper applies. */
export function sumsubReviewStatus(answer: string | null | undefined, rejectType: string | null | undefined): KycStatus {
  return answer === "GREEN" ? "approved" : rejectType === "RETRY" ? "resubmission_requested" : "rejected";
}

/**
 * Sumsub's review state to a verdict: `completed` carries the answer; `pending`, `queued` and
 * `onHold` are in review (what applicantPending / applicantOnHold report). Every other state
 * (`init`, `awaitingUser`: the applicant has something to do) is no verdict yet.
 */
export function sumsubVerdict(applicantId: string, r: SumsubReview, now: Date): KycVerdict | "pending" {
  const answer = r.reviewResult?.reviewAnswer;
  let status: KycStatus;
  if (r.reviewStatus === "completed" && answer) status = sumsubReviewStatus(answer, r.reviewResult?.reviewRejectType);
  else if (r.reviewStatus === "pending" || r.reviewStatus === "queued" || r.reviewStatus === "onHold") status = "in_review";
  else return "pending";
  return {
    status,
    verdictKey: sumsubVerdictKey(applicantId, status),
    eventAt: parseProviderTime(status === "in_review" ? r.createDate : r.reviewDate) ?? now,
    eventType: `status:${r.reviewStatus}`,
    details: {
      applicantId,
      ...(answer ? { reviewAnswer: answer } : {}),
      ...(r.reviewResult?.reviewRejectType ? { reviewRejectType: r.reviewResult.reviewRejectType } : {}),
      ...(r.reviewResult?.rejectLabels ? { rejectLabels: r.reviewResult.rejectLabels } : {}),
    },
  };
}

export interface SumsubClientOptions {
  baseUrl: string;
  appToken: string;
  secretKey: string;
  levelName: string;
  linkTtlSeconds: number;
  timeoutMs: number;
  now?: () => number;
}

/**
 * Sumsub's API (https://docs.sumsub.com/reference): every request carries X-App-Token and is
 * signed (sumsubSignature). `externalUserId` is our investor id, and Sumsub keeps it unique per
 * client: creating it twice answers 409, so a retry after a lost answer looks the applicant up
 * by it (`GET /resources/applicants/-;externalUserId=.../one`) instead of creating a second one.
 * The verification link is a WebSDK permalink for that user and level. Errors answer
 * `{description, code, correlationId}` and are classified by callProvider; the secret key and
 * the signature are never part of an error message.
 */
export function createSumsubAdapter(opts: SumsubClientOptions): KycAdapter {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const now = opts.now ?? Date.now;
  const call = async (method: "GET" | "POST", pathWithQuery: string, what: string, body?: unknown) => {
    const raw = body === undefined ? "" : JSON.stringify(body);
    const ts = String(Math.floor(now() / 1000));
    const headers: Record<string, string> = {
      accept: "application/json",
      "X-App-Token": opts.appToken,
      "X-App-Access-Ts": ts,
      "X-App-Access-Sig": sumsubSignature(opts.secretKey, ts, method, pathWithQuery, raw),
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await callProvider(
      `${base}${pathWithQuery}`,
      { method, headers, body: body === undefined ? undefined : raw },
      {
        provider: "Sumsub",
        timeoutMs: opts.timeoutMs,
        refused: `refused to ${what}`,
      },
    );
    return jsonBody(res, "Sumsub");
  };
  const parse = <S extends z.ZodType>(schema: S, v: unknown, what: string): z.output<S> => {
    const r = schema.safeParse(v);
    if (!r.success) throw new ProviderError(`Sumsub ${what} has an unexpected shape`, "bad_response", true);
    return r.data;
  };
  const byExternalUserId = async (investorId: string) =>
    parse(
      applicantSchema,
      await call("GET", `/resources/applicants/-;externalUserId=${encodeURIComponent(investorId)}/one`, "return the applicant"),
      "applicant",
    );

  async function createOrFind(i: KycApplicantInput): Promise<{ id: string; existing: boolean }> {
    try {
      const created = await call("POST", `/resources/applicants?levelName=${encodeURIComponent(opts.levelName)}`, "create the applicant", {
        externalUserId: i.id,
        // Names and date of birth only: Sumsub wants alpha-3 countries and reads the nationality
        // from the document itself; a mismatch would be reported against data we converted.
        fixedInfo: { firstName: i.firstName, lastName: i.lastName, dob: i.dateOfBirth },
      });
      return { id: parse(applicantSchema, created, "applicant").id, existing: false };
    } catch (err) {
      // 409: an applicant with this externalUserId exists (our earlier attempt whose answer was lost).
      if (err instanceof ProviderError && err.status === 409) return { id: (await byExternalUserId(i.id)).id, existing: true };
      throw err;
    }
  }

  return {
    provider: "sumsub",
    async submit(i) {
      const applicant = await createOrFind(i);
      const link = await call("POST", "/resources/sdkIntegrations/levels/-/websdkLink", "generate the WebSDK link", {
        levelName: opts.levelName,
        userId: i.id,
        ttlInSecs: opts.linkTtlSeconds,
      });
      return { applicantId: applicant.id, verificationUrl: parse(linkSchema, link, "WebSDK link").url, existing: applicant.existing };
    },
    async status({ applicantId }) {
      const review = parse(
        reviewSchema,
        await call("GET", `/resources/applicants/${encodeURIComponent(applicantId)}/status`, "return the review status"),
        "review status",
      );
      return sumsubVerdict(applicantId, review, new Date(now()));
    },
  };
}
