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

/**
 * What an adapter has learned at the provider for one investor so far (stored in
 * `investors.kyc_submission`): ids of what it created, or a marker that a create is in flight.
 */
export type KycProgress = Readonly<Record<string, string>>;

/**
 * The stored progress of earlier attempts and the way to add to it. `save` is durable when it
 * returns; an adapter calls it as soon as the provider answers a create, so a retry after a
 * crash resumes from what was created instead of creating it again. `null` removes a key.
 */
export interface KycSubmitContext {
  progress: KycProgress;
  save(patch: Record<string, string | null>): Promise<void>;
  /** Set `key` only if no attempt has set it; false when one has (another attempt is, or was, in flight). */
  claim(key: string, value: string): Promise<boolean>;
}

export interface KycSubmission {
  applicantId: string;
  /** Where the investor goes to hand in documents (a provider-hosted flow); null when the provider needs none. */
  verificationUrl: string | null;
  /** True when the applicant already existed at the provider (a retry after a lost answer). */
  existing: boolean;
  /** A verdict the provider gave in its answer (a data check that completes at once). */
  verdict?: KycVerdict;
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

/** Which verification to ask about: the stored applicant id, our investor id, and the adapter's stored progress. */
export interface KycStatusRef {
  applicantId: string;
  investorId: string;
  progress: KycProgress;
}

/**
 * One KYC provider's outbound side (the playbook's adapter: submit, status; its webhook is
 * handled by the receiver in src/server/webhooks/providers/ and the processor in
 * src/processors/kyc/). Both calls are safe to repeat: `submit` for an investor that already has
 * an applicant at the provider answers that applicant, never a second one (by the provider's
 * own lookup by our reference, or by the progress in `ctx`; see ./submit-once.ts).
 */
export interface KycAdapter {
  provider: KycProvider;
  submit(investor: KycApplicantInput, ctx: KycSubmitContext): Promise<KycSubmission>;
  /** The current verdict, or "pending" while the provider has none. */
  status(ref: KycStatusRef): Promise<KycVerdict | "pending">;
  /** Behind a breaker (./circuit.ts): when an open one lets the next trial call through. */
  retryAfterMs?(): number;
}

export type KycAdapters = Partial<Record<KycProvider, KycAdapter>>;
