import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // What an outbound KYC adapter learned from the provider while opening the application
  // (an Onfido applicant before its workflow run, a Jumio account and execution, a Trulioo
  // transaction record) or that a create is in flight: written as soon as the provider answers,
  // so a retry resumes from it instead of creating the same thing again.
  await db.schema.alterTable("investors").addColumn("kyc_submission", "jsonb").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("investors").dropColumn("kyc_submission").execute();
}
