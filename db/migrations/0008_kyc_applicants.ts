import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // The provider an investor verifies with, and its applicant once created there. The applicant
  // id is written by the first kyc-applications job that learns it; the unique index means two
  // investors can never claim the same applicant at one provider.
  await db.schema
    .alterTable("investors")
    .addColumn("kyc_provider", "text", (c) => c.check(sql`kyc_provider in ('sumsub', 'onfido', 'jumio', 'trulioo')`))
    .addColumn("kyc_applicant_id", "text")
    .addColumn("kyc_verification_url", "text")
    .addColumn("kyc_submitted_at", "timestamptz")
    .execute();
  await db.schema
    .createIndex("investors_kyc_applicant_uq")
    .on("investors")
    .columns(["kyc_provider", "kyc_applicant_id"])
    .unique()
    .where(sql.ref("kyc_applicant_id"), "is not", null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("investors_kyc_applicant_uq").execute();
  await db.schema
    .alterTable("investors")
    .dropColumn("kyc_submitted_at")
    .dropColumn("kyc_verification_url")
    .dropColumn("kyc_applicant_id")
    .dropColumn("kyc_provider")
    .execute();
}
