import { XMLParser } from "fast-xml-parser";
import { isPlainDecimal } from "../../../validation/decimal.js";

/** One debit's outcome in a pain.002 status report. */
export interface ReportedStatus {
  endToEndId: string;
  /** RJCT (rejected), ACCP/ACSC/ACTC/PDNG (accepted or on the way), ... as the bank printed it. */
  status: string;
  /** The ISO 20022 reason code (AC04 account closed, AM04 insufficient funds, MD01 no mandate...). */
  reason: string | null;
}

/** pain.002: the bank's verdict on a submitted file, for the whole file and/or single debits. */
export interface StatusReport {
  kind: "pain.002";
  msgId: string;
  /** The MsgId of our pain.008 the report is about. */
  originalMsgId: string;
  groupStatus: string | null;
  groupReason: string | null;
  transactions: ReportedStatus[];
}

/** One booked movement of a camt.054, one per debit (the transaction details of an entry). */
export interface NotifiedMovement {
  endToEndId: string;
  /** Exact decimal string, as printed. */
  amount: string;
  currency: string;
  /** CRDT: money came in (a collected debit); DBIT: money went out (a return or refund). */
  direction: "CRDT" | "DBIT";
  reversal: boolean;
  /** BOOK, PDNG, INFO (camt.054.001.08 Sts/Cd, or the older Sts text). */
  entryStatus: string;
  /** The R-transaction's reason code (MD06 refund claimed by the debtor, AM04, MS02...). */
  returnReason: string | null;
  bookingDate: string | null;
  /** The bank's reference of the entry. */
  entryReference: string | null;
}

/** camt.054: debit/credit notifications: collections credited, returns and refunds debited. */
export interface CreditNotification {
  kind: "camt.054";
  msgId: string;
  movements: NotifiedMovement[];
}

export type SepaReport = StatusReport | CreditNotification;

/** What is wrong with a report, and where (an element path). */
export class ReportError extends Error {
  override name = "ReportError";
}

const REPEATED = new Set(["OrgnlPmtInfAndSts", "TxInfAndSts", "StsRsnInf", "Ntfctn", "Ntry", "NtryDtls", "TxDtls"]);

// A maintained parser, configured for money: values stay the text printed (no number
// conversion), namespaces are dropped (the root element says which message it is), and
// repeated elements are always arrays however many the bank sent.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => REPEATED.has(name),
});

// biome-ignore lint/suspicious/noExplicitAny: parsed XML is walked field by field below, each read checked.
type Node = any;

const text = (v: Node): string | undefined => {
  if (typeof v === "string") return v.trim() || undefined;
  if (v && typeof v === "object" && typeof v["#text"] === "string") return v["#text"].trim() || undefined;
  return undefined;
};

function required(v: Node, path: string): string {
  const t = text(v);
  if (t === undefined) throw new ReportError(`${path} is required`);
  return t;
}

const reasonOf = (infos: Node[] | undefined): string | null => text(infos?.[0]?.Rsn?.Cd) ?? text(infos?.[0]?.Rsn?.Prtry) ?? null;

function readStatusReport(root: Node): StatusReport {
  const group = root.OrgnlGrpInfAndSts ?? {};
  const transactions: ReportedStatus[] = [];
  for (const [i, info] of (root.OrgnlPmtInfAndSts ?? []).entries()) {
    for (const [j, tx] of (info.TxInfAndSts ?? []).entries()) {
      const at = `OrgnlPmtInfAndSts[${i}].TxInfAndSts[${j}]`;
      transactions.push({
        endToEndId: required(tx.OrgnlEndToEndId, `${at}.OrgnlEndToEndId`),
        status: required(tx.TxSts, `${at}.TxSts`),
        reason: reasonOf(tx.StsRsnInf),
      });
    }
  }
  return {
    kind: "pain.002",
    msgId: required(root.GrpHdr?.MsgId, "GrpHdr.MsgId"),
    originalMsgId: required(group.OrgnlMsgId, "OrgnlGrpInfAndSts.OrgnlMsgId"),
    groupStatus: text(group.GrpSts) ?? null,
    groupReason: reasonOf(group.StsRsnInf),
    transactions,
  };
}

function amountOf(amt: Node, path: string): { amount: string; currency: string } {
  const amount = required(amt, path);
  const currency = typeof amt === "object" ? text(amt["@Ccy"]) : undefined;
  if (!isPlainDecimal(amount) || amount.startsWith("-"))
    throw new ReportError(`${path}: expected a decimal amount, got ${JSON.stringify(amount.slice(0, 40))}`);
  if (!currency) throw new ReportError(`${path}@Ccy is required`);
  return { amount, currency };
}

function readNotification(root: Node): CreditNotification {
  const movements: NotifiedMovement[] = [];
  for (const [n, ntfctn] of (root.Ntfctn ?? []).entries()) {
    for (const [e, entry] of (ntfctn.Ntry ?? []).entries()) {
      const at = `Ntfctn[${n}].Ntry[${e}]`;
      const entryDirection = required(entry.CdtDbtInd, `${at}.CdtDbtInd`);
      const entryStatus = text(entry.Sts?.Cd) ?? required(entry.Sts, `${at}.Sts`);
      const reversal = text(entry.RvslInd) === "true";
      const bookingDate = text(entry.BookgDt?.Dt) ?? text(entry.BookgDt?.DtTm)?.slice(0, 10) ?? null;
      const entryReference = text(entry.AcctSvcrRef) ?? text(entry.NtryRef) ?? null;
      for (const [d, details] of (entry.NtryDtls ?? []).entries()) {
        for (const [t, tx] of (details.TxDtls ?? []).entries()) {
          const txAt = `${at}.NtryDtls[${d}].TxDtls[${t}]`;
          const direction = text(tx.CdtDbtInd) ?? entryDirection;
          if (direction !== "CRDT" && direction !== "DBIT") throw new ReportError(`${txAt}.CdtDbtInd: expected CRDT or DBIT`);
          const amt = tx.Amt ?? tx.AmtDtls?.TxAmt?.Amt ?? tx.AmtDtls?.InstdAmt?.Amt;
          movements.push({
            endToEndId: required(tx.Refs?.EndToEndId, `${txAt}.Refs.EndToEndId`),
            ...amountOf(amt, `${txAt}.Amt`),
            direction,
            reversal,
            entryStatus,
            returnReason: text(tx.RtrInf?.Rsn?.Cd) ?? text(tx.RtrInf?.Rsn?.Prtry) ?? null,
            bookingDate,
            entryReference,
          });
        }
      }
    }
  }
  return { kind: "camt.054", msgId: required(root.GrpHdr?.MsgId, "GrpHdr.MsgId"), movements };
}

/**
 * Read a pain.002 (CstmrPmtStsRpt) or camt.054 (BkToCstmrDbtCdtNtfctn) document into what the
 * processors need: ids, statuses, reason codes and exact amounts. No IBAN or name is kept, so
 * the job (visible on the dashboard) carries no personal data.
 */
export function readSepaReport(xml: string): SepaReport {
  let doc: Node;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    throw new ReportError(`not well-formed XML: ${(err as Error).message.split("\n")[0]}`);
  }
  const root = doc?.Document;
  if (!root || typeof root !== "object") throw new ReportError("expected an ISO 20022 <Document>");
  if (root.CstmrPmtStsRpt) return readStatusReport(root.CstmrPmtStsRpt);
  if (root.BkToCstmrDbtCdtNtfctn) return readNotification(root.BkToCstmrDbtCdtNtfctn);
  throw new ReportError("expected a pain.002 (CstmrPmtStsRpt) or camt.054 (BkToCstmrDbtCdtNtfctn) document");
}
