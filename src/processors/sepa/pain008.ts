import { XMLParser } from "fast-xml-parser";
import SEPA from "sepa";
import type { SepaCreditor } from "../../config/sepa.js";
import type { SepaSequenceType } from "../../db/schema.js";
import { formatCents } from "../../validation/euro.js";

/** The pain.008 version hookrail sends: the ISO 20022 2019 message the EPC rulebooks use since November 2023. */
export const PAIN_008_VERSION = "pain.008.001.08";

export interface FileDebit {
  endToEndId: string;
  amountCents: bigint;
  sequenceType: SepaSequenceType;
  mandateRef: string;
  /** YYYY-MM-DD. */
  signatureDate: string;
  debtorName: string;
  iban: string;
  bic: string | null;
  remittance: string;
}

export interface CollectionFile {
  msgId: string;
  createdAt: Date;
  /** YYYY-MM-DD. */
  collectionDate: string;
  creditor: SepaCreditor;
  debits: FileDebit[];
}

/** A calendar date as the library wants it: it prints local calendar fields, so local midnight of that day. */
const localDay = (isoDay: string) => {
  const [y, m, d] = isoDay.split("-").map(Number) as [number, number, number];
  return new Date(y, m - 1, d);
};

const SEQUENCE_ORDER: SepaSequenceType[] = ["FRST", "RCUR"];

/**
 * The pain.008 file of one collection: one payment-information block per sequence type
 * (first debits of a mandate, then recurring ones), debits in the order given. Built with the
 * `sepa` library, which validates names, IBANs, BICs, ids and the creditor id as it
 * serializes. It takes amounts as JS numbers; so the file is read back and every amount and
 * control sum compared with the exact cents before the file is returned.
 */
export function buildPain008(file: CollectionFile): string {
  const doc = new SEPA.Document(PAIN_008_VERSION);
  doc.grpHdr.id = file.msgId;
  doc.grpHdr.created = file.createdAt;
  doc.grpHdr.initiatorName = file.creditor.name;
  for (const seq of SEQUENCE_ORDER) {
    const debits = file.debits.filter((d) => d.sequenceType === seq);
    if (debits.length === 0) continue;
    const info = doc.createPaymentInfo();
    info.collectionDate = localDay(file.collectionDate);
    info.sequenceType = seq;
    info.localInstrumentation = "CORE";
    info.batchBooking = true;
    info.creditorIBAN = file.creditor.iban;
    info.creditorBIC = file.creditor.bic ?? "";
    info.creditorName = file.creditor.name;
    info.creditorId = file.creditor.id;
    doc.addPaymentInfo(info);
    for (const d of debits) {
      const tx = info.createTransaction();
      tx.debtorName = d.debtorName;
      tx.debtorIBAN = d.iban;
      tx.debtorBIC = d.bic ?? "";
      tx.mandateId = d.mandateRef;
      tx.mandateSignatureDate = localDay(d.signatureDate);
      tx.amount = Number(formatCents(d.amountCents));
      tx.currency = "EUR";
      tx.remittanceInfo = d.remittance;
      tx.end2endId = d.endToEndId;
      info.addTransaction(tx);
    }
  }
  let xml: string;
  try {
    xml = doc.toString();
  } catch (err) {
    // The library's messages quote the offending value (an IBAN, a name): keep only the field.
    const field = /^[A-Za-z0-9_.]+/.exec((err as Error).message)?.[0] ?? "a field";
    throw new Pain008Error(`pain.008 ${file.msgId} not built: ${field} is invalid (value not shown: personal data)`);
  }
  assertExactAmounts(xml, file.debits);
  return xml;
}

/** The library refused a value: names the field, never the value. */
export class Pain008Error extends Error {
  override name = "Pain008Error";
}

/** Thrown when the library printed an amount other than the exact one: the file is never sent. */
export class AmountMismatchError extends Error {
  override name = "AmountMismatchError";
}

const readBack = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  isArray: (name) => ["PmtInf", "DrctDbtTxInf"].includes(name),
});

function assertExactAmounts(xml: string, debits: FileDebit[]): void {
  // biome-ignore lint/suspicious/noExplicitAny: a read-back of the file just built, checked field by field.
  const root = (readBack.parse(xml) as any).Document.CstmrDrctDbtInitn;
  const byId = new Map(debits.map((d) => [d.endToEndId, d.amountCents]));
  const total = debits.reduce((s, d) => s + d.amountCents, 0n);
  const problems: string[] = [];
  if (root.GrpHdr.CtrlSum !== formatCents(total)) problems.push(`GrpHdr CtrlSum ${root.GrpHdr.CtrlSum} != ${formatCents(total)}`);
  for (const info of root.PmtInf) {
    let sum = 0n;
    for (const tx of info.DrctDbtTxInf) {
      const cents = byId.get(tx.PmtId.EndToEndId) ?? 0n;
      sum += cents;
      if (tx.InstdAmt["#text"] !== formatCents(cents)) problems.push(`${tx.PmtId.EndToEndId}: InstdAmt ${tx.InstdAmt["#text"]} != ${formatCents(cents)}`);
    }
    if (info.CtrlSum !== formatCents(sum)) problems.push(`${info.PmtInfId}: CtrlSum ${info.CtrlSum} != ${formatCents(sum)}`);
  }
  if (problems.length) throw new AmountMismatchError(`pain.008 amounts differ from the exact ones: ${problems.join("; ")}`);
}
