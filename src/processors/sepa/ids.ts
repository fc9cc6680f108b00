import { createHash } from "node:crypto";

// Every id a SEPA file carries is derived from ids stored before the file is built, so a
// retried run builds (and the bank sees) the same ids, and a status report's ids lead back
// to the stored rows.

/** The order a subscription's period pays: one per subscription and period, ever. */
export const debitOrderReference = (subscriptionId: string, period: string) => `SDD-${subscriptionId}-${period}`;

/** The debit's EndToEndId (at most 35 characters): a digest of its order reference. */
export const debitEndToEndId = (orderReference: string) => `HR${createHash("sha256").update(orderReference).digest("hex").slice(0, 32).toUpperCase()}`;

/** The file's MsgId from its stored collection id and date; short enough for the PmtInfId and InstrId the library derives from it. */
export const collectionMsgId = (collectionId: string, collectionDate: string) => `HR${collectionDate.replaceAll("-", "")}C${collectionId}`;
