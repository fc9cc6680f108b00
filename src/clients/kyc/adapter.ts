import type { KycProvider, KycStatus } from "../../db/schema.js";

/** What a provider needs to open an application for one investor; `id` is our investor id. */
export interface KycApplicantInput {
  id: string;
  firstName: string;
  lastName: string;
  /** YYYY-MM-DD */
  dateOfBirth: string;
  /** ISO 3166-1 alpha-2 */
  nationality: string;
}

export interface KycSubmission {
  applicantId: string;
  /** Where the investor goes to hand in documents (a provider-hosted flow). */
  verificationUrl: string;
  /** True when the applicant already existed at the provider (a retry after a lost answer). */
  existing: boolean;
}

/**
 * A verdict read from a provider's API (polling), in the same terms as a webhook's outcome.
 * `verdictKey` names the verdict independently of how we learned it, so the webhook that
 * reports the same verdict later is recognized as a restatement (see applyKycOutcome).
 */
export interface KycVerdict {
  status: KycStatus;
  verdictKey: string;
  /** The provider's time of the verdict. */
  eventAt: Date;
  eventType: string;
  details: Record<string, unknown>;
}

/**
 * One KYC provider's outbound side (the playbook's adapter: submit, status; its webhook is
 * handled by the receiver in src/server/webhooks/providers/ and the processor in
 * src/processors/kyc/). Both calls are safe to repeat: `submit` for an investor that already has
 * an applicant at the provider answers that applicant, never a second one.
 */
export interface KycAdapter {
  provider: KycProvider;
  submit(investor: KycApplicantInput): Promise<KycSubmission>;
  /** The current verdict, or "pending" while the provider has none. */
  status(ref: { applicantId: string; investorId: string }): Promise<KycVerdict | "pending">;
  /** Behind a breaker (./circuit.ts): when an open one lets the next trial call through. */
  retryAfterMs?(): number;
}

export type KycAdapters = Partial<Record<KycProvider, KycAdapter>>;
