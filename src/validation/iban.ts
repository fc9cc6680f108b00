import { electronicFormatIBAN, isSEPACountry, isValidBIC, validateIBAN, ValidationErrorsIBAN } from "ibantools";
import { z } from "zod";

const IBAN_PROBLEMS: Record<number, string> = {
  [ValidationErrorsIBAN.NoIBANProvided]: "required",
  [ValidationErrorsIBAN.NoIBANCountry]: "unknown IBAN country code",
  [ValidationErrorsIBAN.WrongBBANLength]: "wrong length for its country",
  [ValidationErrorsIBAN.WrongBBANFormat]: "wrong account format for its country",
  [ValidationErrorsIBAN.ChecksumNotNumber]: "check digits are not a number",
  [ValidationErrorsIBAN.WrongIBANChecksum]: "check digits do not match (mod-97)",
  [ValidationErrorsIBAN.WrongAccountBankBranchChecksum]: "national bank/branch check digits do not match",
  [ValidationErrorsIBAN.QRIBANNotAllowed]: "a QR-IBAN cannot be debited",
};

/** Why an IBAN (in electronic format) is not one we can debit, or undefined when it is. */
export function ibanProblem(iban: string): string | undefined {
  const result = validateIBAN(iban, { allowQRIBAN: false });
  if (!result.valid) return result.errorCodes.map((c) => IBAN_PROBLEMS[c] ?? `invalid (${c})`).join("; ") || "invalid IBAN";
  if (!isSEPACountry(iban.slice(0, 2))) return `${iban.slice(0, 2)} is not in the SEPA scheme`;
  return undefined;
}

/**
 * An IBAN as people write it ("DE89 3704 0044 0532 0130 00") or electronically; checked for its
 * country's length and format and for the ISO 7064 mod-97 check digits. Output: electronic
 * format (upper case, no spaces). Problems name the rule, never echo the number.
 */
export const ibanString = () =>
  z
    .string()
    .max(64)
    .transform((v, ctx) => {
      const iban = electronicFormatIBAN(v) ?? "";
      const problem = ibanProblem(iban);
      if (problem) {
        ctx.addIssue({ code: "custom", message: `not a valid IBAN: ${problem}` });
        return z.NEVER;
      }
      return iban;
    });

/** A BIC (8 or 11 characters), upper-cased. */
export const bicString = () =>
  z
    .string()
    .transform((v) => v.trim().toUpperCase())
    .refine((v) => isValidBIC(v), { error: "expected a BIC of 8 or 11 characters, e.g. COBADEFFXXX" });

/**
 * An IBAN for display: country and check digits, then only the last four characters
 * ("DE89 **** **** **** **30 00" style, without the grouping): enough to tell accounts apart.
 */
export function maskIban(iban: string): string {
  if (iban.length <= 8) return `${iban.slice(0, 2)}${"*".repeat(Math.max(0, iban.length - 2))}`;
  return `${iban.slice(0, 4)}${"*".repeat(iban.length - 8)}${iban.slice(-4)}`;
}
