import { validateCreditorID } from "sepa";
import { z } from "zod";
import { bicString, ibanString } from "../validation/iban.js";
import { cronPattern, intInRange, optionalString, optionalUrl } from "./env.js";

/** Names and texts in a SEPA file: the EPC's Latin character set. */
const sepaText = (max: number) =>
  optionalString().pipe(
    z
      .string()
      .max(max)
      .regex(/^[A-Za-z0-9/?:().,'+ -]+$/, { error: "expected letters, digits, spaces and / - ? : ( ) . , ' + (the SEPA character set)" })
      .optional(),
  );

/** Settings of SEPA Direct Debit: who collects (the creditor), the bank's file API and the collection schedule. */
export const sepaSchema = z.object({
  /** The creditor identifier (e.g. DE98ZZZ09999999999); mandates are taken under it. */
  SEPA_CREDITOR_ID: optionalString().pipe(
    z
      .string()
      .refine((v) => validateCreditorID(v), { error: "expected a SEPA creditor identifier like DE98ZZZ09999999999 (check digits mod-97)" })
      .optional(),
  ),
  SEPA_CREDITOR_NAME: sepaText(70),
  SEPA_CREDITOR_IBAN: optionalString().pipe(ibanString().optional()),
  SEPA_CREDITOR_BIC: optionalString().pipe(bicString().optional()),
  /** The bank's payment-file API: pain.008 files are uploaded here. */
  SEPA_BANK_API_URL: optionalUrl(["http", "https"], "https://api.bank.example/v1"),
  SEPA_BANK_API_KEY: optionalString(),
  SEPA_BANK_TIMEOUT_MS: intInRange(100, 120_000, 30_000),
  SEPA_COLLECTION_CRON: cronPattern("0 6 * * *"),
  /** Days between submitting a first debit of a mandate and its collection date. */
  SEPA_LEAD_DAYS_FRST: intInRange(1, 30, 5),
  /** The same for recurring debits. */
  SEPA_LEAD_DAYS_RCUR: intInRange(1, 30, 2),
});

export type SepaCreditor = { id: string; name: string; iban: string; bic?: string };

/** The creditor when every setting it needs is there; collections wait otherwise. */
export function sepaCreditor(config: z.output<typeof sepaSchema>): SepaCreditor | undefined {
  const { SEPA_CREDITOR_ID: id, SEPA_CREDITOR_NAME: name, SEPA_CREDITOR_IBAN: iban, SEPA_CREDITOR_BIC: bic } = config;
  return id && name && iban ? { id, name, iban, ...(bic ? { bic } : {}) } : undefined;
}
