import { XMLParser } from "fast-xml-parser";

// SEPA messages as a bank sends them (pain.002.001.10 status reports, camt.054.001.08
// notifications), and a read-back check of our pain.008.001.08 files against the schema's
// mandatory elements, their order and their simple types (the ISO 20022 XSD cannot be had
// offline here; see README "SEPA Direct Debit").

export interface RejectedTx {
  endToEndId: string;
  reason: string;
}

/** A pain.002.001.10 status report on our file `originalMsgId`: the group status and one rejected debit per entry. */
export function pain002(opts: {
  msgId: string;
  originalMsgId: string;
  groupStatus: "RJCT" | "PART" | "ACCP";
  groupReason?: string;
  rejected?: RejectedTx[];
}): string {
  const txs = (opts.rejected ?? [])
    .map(
      (t, i) => `
      <TxInfAndSts>
        <StsId>STS-${i + 1}</StsId>
        <OrgnlEndToEndId>${t.endToEndId}</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>${t.reason}</Cd></Rsn></StsRsnInf>
      </TxInfAndSts>`,
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
  <CstmrPmtStsRpt>
    <GrpHdr>
      <MsgId>${opts.msgId}</MsgId>
      <CreDtTm>2026-12-02T07:15:00</CreDtTm>
      <InitgPty><Id><OrgId><AnyBIC>BANKDEFFXXX</AnyBIC></OrgId></Id></InitgPty>
    </GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>${opts.originalMsgId}</OrgnlMsgId>
      <OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>
      <GrpSts>${opts.groupStatus}</GrpSts>${opts.groupReason ? `\n      <StsRsnInf><Rsn><Cd>${opts.groupReason}</Cd></Rsn></StsRsnInf>` : ""}
    </OrgnlGrpInfAndSts>${
      txs
        ? `
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>${opts.originalMsgId}.0</OrgnlPmtInfId>${txs}
    </OrgnlPmtInfAndSts>`
        : ""
    }
  </CstmrPmtStsRpt>
</Document>`;
}

export interface Movement {
  endToEndId: string;
  /** As printed, e.g. "250.00". */
  amount: string;
  /** A return/refund (R-transaction) carries its reason code and is a debit of the creditor's account. */
  returnReason?: string;
  debtorName?: string;
  debtorIban?: string;
}

/** A camt.054.001.08 notification with one booked entry: collected debits (CRDT), or returns (DBIT with RtrInf). */
export function camt054(opts: {
  msgId: string;
  creditorIban: string;
  bookingDate: string;
  direction: "CRDT" | "DBIT";
  batchMsgId?: string;
  movements: Movement[];
}): string {
  const total = opts.movements.reduce((s, m) => s + BigInt(m.amount.replace(".", "")), 0n);
  const totalText = `${total / 100n}.${(total % 100n).toString().padStart(2, "0")}`;
  const sub = opts.direction === "CRDT" ? "ESDD" : "UPDD";
  const txs = opts.movements
    .map(
      (m) => `
          <TxDtls>
            <Refs>${opts.batchMsgId ? `<MsgId>${opts.batchMsgId}</MsgId>` : ""}<EndToEndId>${m.endToEndId}</EndToEndId></Refs>
            <Amt Ccy="EUR">${m.amount}</Amt>
            <CdtDbtInd>${opts.direction}</CdtDbtInd>
            <RltdPties>
              <Dbtr><Pty><Nm>${m.debtorName ?? "Ada Lovelace"}</Nm></Pty></Dbtr>
              <DbtrAcct><Id><IBAN>${m.debtorIban ?? "DE89370400440532013000"}</IBAN></Id></DbtrAcct>
            </RltdPties>${m.returnReason ? `\n            <RtrInf><Rsn><Cd>${m.returnReason}</Cd></Rsn></RtrInf>` : ""}
          </TxDtls>`,
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr>
      <MsgId>${opts.msgId}</MsgId>
      <CreDtTm>${opts.bookingDate}T18:00:00</CreDtTm>
    </GrpHdr>
    <Ntfctn>
      <Id>${opts.msgId}-1</Id>
      <CreDtTm>${opts.bookingDate}T18:00:00</CreDtTm>
      <Acct><Id><IBAN>${opts.creditorIban}</IBAN></Id></Acct>
      <Ntry>
        <NtryRef>1</NtryRef>
        <Amt Ccy="EUR">${totalText}</Amt>
        <CdtDbtInd>${opts.direction}</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>${opts.bookingDate}</Dt></BookgDt>
        <ValDt><Dt>${opts.bookingDate}</Dt></ValDt>
        <AcctSvcrRef>${opts.msgId}-E1</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>${sub}</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <Btch><NbOfTxs>${opts.movements.length}</NbOfTxs></Btch>${txs}
        </NtryDtls>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>`;
}

/** The Standard Webhooks JSON body the bank posts a report in. */
export const reportBody = (type: string, document: string) => JSON.stringify({ type, timestamp: new Date().toISOString(), data: { document } });

// --- pain.008.001.08 read-back check -------------------------------------------------------

type El = { name: string; attrs: Record<string, string>; children: El[]; text: string };

const ordered = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: "", parseTagValue: false, trimValues: true });

function toTree(nodes: any[]): El[] {
  const out: El[] = [];
  for (const n of nodes) {
    const name = Object.keys(n).find((k) => k !== ":@");
    if (!name || name === "#text" || name === "?xml") continue;
    const kids = n[name] as any[];
    const text = kids
      .filter((k) => "#text" in k)
      .map((k) => String(k["#text"]))
      .join("");
    out.push({ name, attrs: (n[":@"] ?? {}) as Record<string, string>, children: toTree(kids), text });
  }
  return out;
}

/** The XSD's sequences (element order) of the complex types a pain.008.001.08 file uses, as far as hookrail fills them. */
const SEQUENCES: Record<string, string[]> = {
  CstmrDrctDbtInitn: ["GrpHdr", "PmtInf", "SplmtryData"],
  GrpHdr: ["MsgId", "CreDtTm", "Authstn", "NbOfTxs", "CtrlSum", "InitgPty", "FwdgAgt"],
  PmtInf: [
    "PmtInfId",
    "PmtMtd",
    "BtchBookg",
    "NbOfTxs",
    "CtrlSum",
    "PmtTpInf",
    "ReqdColltnDt",
    "Cdtr",
    "CdtrAcct",
    "CdtrAgt",
    "CdtrAgtAcct",
    "UltmtCdtr",
    "ChrgBr",
    "ChrgsAcct",
    "ChrgsAcctAgt",
    "CdtrSchmeId",
    "DrctDbtTxInf",
  ],
  PmtTpInf: ["InstrPrty", "SvcLvl", "LclInstrm", "SeqTp", "CtgyPurp"],
  DrctDbtTxInf: [
    "PmtId",
    "PmtTpInf",
    "InstdAmt",
    "ChrgBr",
    "DrctDbtTx",
    "UltmtCdtr",
    "DbtrAgt",
    "DbtrAgtAcct",
    "Dbtr",
    "DbtrAcct",
    "UltmtDbtr",
    "InstrForCdtrAgt",
    "Purp",
    "RgltryRptg",
    "Tax",
    "RltdRmtInf",
    "RmtInf",
  ],
  PmtId: ["InstrId", "EndToEndId"],
  DrctDbtTx: ["MndtRltdInf", "CdtrSchmeId", "PreNtfctnId", "PreNtfctnDt"],
  MndtRltdInf: ["MndtId", "DtOfSgntr", "AmdmntInd", "AmdmntInfDtls", "ElctrncSgntr", "FrstColltnDt", "FnlColltnDt", "Frqcy", "Rsn", "TrckgDays"],
};
/** minOccurs="1" elements (the XSD's, plus the EPC SDD Core rulebook's mandatory ones). */
const MANDATORY: Record<string, string[]> = {
  CstmrDrctDbtInitn: ["GrpHdr", "PmtInf"],
  GrpHdr: ["MsgId", "CreDtTm", "NbOfTxs", "CtrlSum", "InitgPty"],
  PmtInf: ["PmtInfId", "PmtMtd", "NbOfTxs", "CtrlSum", "PmtTpInf", "ReqdColltnDt", "Cdtr", "CdtrAcct", "CdtrAgt", "CdtrSchmeId", "DrctDbtTxInf"],
  PmtTpInf: ["SvcLvl", "LclInstrm", "SeqTp"],
  DrctDbtTxInf: ["PmtId", "InstdAmt", "DrctDbtTx", "DbtrAgt", "Dbtr", "DbtrAcct"],
  PmtId: ["EndToEndId"],
  DrctDbtTx: ["MndtRltdInf"],
  MndtRltdInf: ["MndtId", "DtOfSgntr"],
};

const TYPES: Record<string, RegExp> = {
  MsgId: /^.{1,35}$/,
  PmtInfId: /^.{1,35}$/,
  InstrId: /^.{1,35}$/,
  EndToEndId: /^.{1,35}$/,
  MndtId: /^.{1,35}$/,
  CreDtTm: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/,
  ReqdColltnDt: /^\d{4}-\d{2}-\d{2}$/,
  DtOfSgntr: /^\d{4}-\d{2}-\d{2}$/,
  NbOfTxs: /^[0-9]{1,15}$/,
  CtrlSum: /^\d{1,16}(\.\d{1,2})?$/,
  // The XSD allows 5 decimals; the EPC rulebook 2, and at most 999999999.99.
  InstdAmt: /^\d{1,9}(\.\d{1,2})?$/,
  PmtMtd: /^DD$/,
  SeqTp: /^(FRST|RCUR|FNAL|OOFF)$/,
  IBAN: /^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$/,
  BICFI: /^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/,
  BtchBookg: /^(true|false)$/,
  AmdmntInd: /^(true|false)$/,
  ChrgBr: /^(DEBT|CRED|SHAR|SLEV)$/,
  Nm: /^.{1,140}$/,
  Ustrd: /^.{1,140}$/,
};

export interface Pain008Summary {
  msgId: string;
  nbOfTxs: number;
  ctrlSum: string;
  blocks: {
    sequenceType: string;
    collectionDate: string;
    ctrlSum: string;
    debits: { endToEndId: string; amount: string; mandateId: string; iban: string }[];
  }[];
}

/**
 * Parse a pain.008.001.08 file back and check it the way the schema would: namespace, every
 * mandatory element present, children in the schema's order, simple types (ids, dates,
 * amounts with their currency, IBAN, BIC), and the counts and control sums adding up. Returns
 * problems (empty = passes) and what the file says.
 */
export function checkPain008(xml: string): { problems: string[]; summary: Pain008Summary } {
  const problems: string[] = [];
  const [doc] = toTree(ordered.parse(xml));
  if (doc?.name !== "Document") return { problems: ["root element is not Document"], summary: undefined as never };
  if (doc.attrs.xmlns !== "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08") problems.push(`namespace ${doc.attrs.xmlns}`);
  const root = doc.children[0]!;
  if (root.name !== "CstmrDrctDbtInitn" || doc.children.length !== 1) problems.push("Document must hold exactly one CstmrDrctDbtInitn");

  const walk = (el: El, path: string) => {
    const names = el.children.map((c) => c.name);
    for (const m of MANDATORY[el.name] ?? []) if (!names.includes(m)) problems.push(`${path}: missing ${m}`);
    const seq = SEQUENCES[el.name];
    if (seq) {
      const idx = names.map((n) => seq.indexOf(n));
      if (idx.includes(-1)) problems.push(`${path}: unexpected ${names.filter((_, i) => idx[i] === -1).join(", ")}`);
      for (let i = 1; i < idx.length; i++) if (idx[i]! < idx[i - 1]!) problems.push(`${path}: ${names[i]} out of order`);
    }
    const type = TYPES[el.name];
    if (type && el.children.length === 0 && !type.test(el.text)) problems.push(`${path}: ${JSON.stringify(el.text)} is not a valid ${el.name}`);
    if (el.name === "InstdAmt" && !/^[A-Z]{3}$/.test(el.attrs.Ccy ?? "")) problems.push(`${path}: Ccy missing`);
    if (["Cdtr", "Dbtr"].includes(el.name) && !names.includes("Nm")) problems.push(`${path}: missing Nm`);
    if (["CdtrAcct", "DbtrAcct"].includes(el.name) && el.children[0]?.children[0]?.name !== "IBAN") problems.push(`${path}: account must be Id/IBAN`);
    if (["CdtrAgt", "DbtrAgt"].includes(el.name)) {
      const fin = el.children.find((c) => c.name === "FinInstnId");
      if (!fin?.children.some((c) => c.name === "BICFI" || c.name === "Othr")) problems.push(`${path}: FinInstnId needs BICFI or Othr/Id`);
    }
    if (el.name === "CdtrSchmeId") {
      const othr = el.children[0]?.children[0]?.children[0];
      if (el.children[0]?.name !== "Id" || othr?.name !== "Othr" || !othr.children.some((c) => c.name === "Id"))
        problems.push(`${path}: CdtrSchmeId must be Id/PrvtId/Othr/Id`);
    }
    for (const c of el.children) walk(c, `${path}/${c.name}`);
  };
  walk(root, "CstmrDrctDbtInitn");

  const child = (el: El | undefined, ...names: string[]): El | undefined => names.reduce<El | undefined>((e, n) => e?.children.find((c) => c.name === n), el);
  const cents = (s: string | undefined) => BigInt((s ?? "0").replace(".", ""));
  const grpHdr = child(root, "GrpHdr");
  const blocks = root.children
    .filter((c) => c.name === "PmtInf")
    .map((p) => ({
      sequenceType: child(p, "PmtTpInf", "SeqTp")?.text ?? "",
      collectionDate: child(p, "ReqdColltnDt")?.text ?? "",
      ctrlSum: child(p, "CtrlSum")?.text ?? "",
      nbOfTxs: Number(child(p, "NbOfTxs")?.text),
      debits: p.children
        .filter((c) => c.name === "DrctDbtTxInf")
        .map((t) => ({
          endToEndId: child(t, "PmtId", "EndToEndId")?.text ?? "",
          amount: child(t, "InstdAmt")?.text ?? "",
          mandateId: child(t, "DrctDbtTx", "MndtRltdInf", "MndtId")?.text ?? "",
          iban: child(t, "DbtrAcct", "Id", "IBAN")?.text ?? "",
        })),
    }));
  for (const b of blocks) {
    if (b.nbOfTxs !== b.debits.length) problems.push(`PmtInf ${b.sequenceType}: NbOfTxs ${b.nbOfTxs} != ${b.debits.length}`);
    if (cents(b.ctrlSum) !== b.debits.reduce((s, d) => s + cents(d.amount), 0n)) problems.push(`PmtInf ${b.sequenceType}: CtrlSum does not add up`);
  }
  const all = blocks.flatMap((b) => b.debits);
  if (Number(child(grpHdr, "NbOfTxs")?.text) !== all.length) problems.push("GrpHdr NbOfTxs does not match");
  if (cents(child(grpHdr, "CtrlSum")?.text) !== all.reduce((s, d) => s + cents(d.amount), 0n)) problems.push("GrpHdr CtrlSum does not add up");
  return {
    problems,
    summary: {
      msgId: child(grpHdr, "MsgId")?.text ?? "",
      nbOfTxs: all.length,
      ctrlSum: child(grpHdr, "CtrlSum")?.text ?? "",
      blocks: blocks.map(({ nbOfTxs: _n, ...b }) => b),
    },
  };
}
