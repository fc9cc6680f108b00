import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSepaBankClient, type SepaBankClient } from "../src/clients/sepa-bank.js";
import { sepaCreditor } from "../src/config/sepa.js";
import { startSepaBankStub, type SepaBankStub } from "../src/dev/stubs/sepa-bank.js";
import { createLogger } from "../src/log.js";
import type { Clients } from "../src/processes/clients.js";
import { QUEUE_MODULES } from "../src/processes/queue-modules.js";
import { planDebits, runCollection } from "../src/processors/sepa/collection.js";
import { buildPain008 } from "../src/processors/sepa/pain008.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { registerSchedulers } from "../src/schedulers/register.js";
import { adminApiClient } from "./helpers/admin-api.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { waitFor } from "./helpers/env.js";
import { camt054, checkPain008, pain002, reportBody } from "./helpers/sepa.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { standardHeaders } from "./helpers/webhook-senders.js";

const TOKEN = "sepa-test-admin-token-0123456789";
const SEPA_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const CREDITOR = {
  SEPA_CREDITOR_ID: "DE98ZZZ09999999999",
  SEPA_CREDITOR_NAME: "Hookrail Fund I",
  SEPA_CREDITOR_IBAN: "DE89370400440532013000",
  SEPA_CREDITOR_BIC: "COBADEFFXXX",
};
// Valid IBANs of different countries (check digits computed per ISO 13616).
const IBANS = [
  "DE75512108001245126199",
  "FR7630006000011234567890189",
  "NL91ABNA0417164300",
  "ES9121000418450200051332",
  "AT611904300234573201",
  "BE68539007547034",
];
const ONE_EUR = 10n ** 18n; // token base units per EUR in these tests: 1 token per euro

describe("SEPA Direct Debit: mandates, subscriptions, collection files, bank reports", () => {
  let chain: TestChain;
  let bank: SepaBankStub;
  let stack: TestStack;
  let c: Clients;
  const api = adminApiClient(() => stack.base, TOKEN);
  let ibanNo = 0;
  // Every test's mandates are revoked after it, so no later run (with later dates) debits them.
  const opened: string[] = [];

  const report = async (type: string, xml: string) => {
    const body = reportBody(type, xml);
    const res = await fetch(`${stack.base}/webhooks/payments/sepa`, { method: "POST", body, headers: standardHeaders(SEPA_SECRET, body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const newInvestor = async (approved = false) => {
    const id = `inv-${randomUUID()}`;
    const wallet = randomWallet();
    const res = await api("POST", "/investors", { id, wallet, firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", nationality: "GB" });
    expect(res.status).toBe(201);
    // KYC is another feature's business: the approval is set as its processors would leave it.
    if (approved) await c.dbh.db.updateTable("investors").set({ kyc_status: "approved" }).where("id", "=", id).execute();
    return { id, wallet };
  };
  const newMandate = async (investorId: string) => {
    const res = await api("POST", "/mandates", { investorId, iban: IBANS[ibanNo++ % IBANS.length], debtorName: "Ada Lovelace", signatureDate: "2026-11-30" });
    expect(res.status).toBe(201);
    opened.push(res.body.mandateRef);
    return res.body.mandateRef as string;
  };
  const newSubscription = async (fields: { investorId: string; mandateRef: string; amount: string; startPeriod: string; dayOfMonth?: number }) => {
    const res = await api("POST", "/subscriptions", {
      tokenAddress: chain.deployment.securityToken,
      tokenAmountPerEur: ONE_EUR.toString(),
      dayOfMonth: 15,
      ...fields,
    });
    expect(res.status).toBe(201);
    return res.body;
  };
  /** A manual collection run for a day, through the queue and the real worker. */
  const collect = async (date: string) => {
    const queue = c.queues.queue("sepa-collection");
    const job = await queue.add("collect", { date }, { jobId: `collect-${date}-${randomUUID()}` });
    return waitFor(
      async () => {
        const state = await queue.getJobState(job.id!);
        if (state === "failed") throw new Error(`collection ${date} failed: ${(await queue.getJob(job.id!))?.failedReason}`);
        return state === "completed" ? ((await queue.getJob(job.id!))!.returnvalue as any) : undefined;
      },
      30_000,
      `collection run ${date}`,
    );
  };
  /** The bank's camt.054 of one debit returned by the debtor's bank (reason MD06). */
  const reportReturn = (endToEndId: string, amount: string, bookingDate: string) =>
    report(
      "debit_credit_notification",
      camt054({
        msgId: `CAMT-${randomUUID().slice(0, 8)}`,
        creditorIban: CREDITOR.SEPA_CREDITOR_IBAN,
        bookingDate,
        direction: "DBIT",
        movements: [{ endToEndId, amount, returnReason: "MD06" }],
      }),
    );
  const debitsOf = (subscriptionId: string) =>
    c.dbh.db.selectFrom("sepa_debits").selectAll().where("subscription_id", "=", subscriptionId).orderBy("period").execute();
  const order = async (ref: string) => (await api("GET", `/orders/${ref}`)).body;
  const counter = async (name: string, labels: Record<string, string>) => {
    const metric = c.metrics.registry.getSingleMetric(name);
    const values = (await metric!.get()).values;
    return values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
  };
  const revoke = async (...refs: string[]) => {
    for (const ref of refs) expect((await api("POST", `/mandates/${ref}/revoke`)).body.status).toBe("revoked");
  };

  beforeAll(async () => {
    chain = await startTestChain();
    bank = await startSepaBankStub();
    stack = await startStack("sepa", {
      env: {
        ...chain.env,
        ...CREDITOR,
        ADMIN_API_TOKEN: TOKEN,
        SEPA_WEBHOOK_SECRETS: SEPA_SECRET,
        SEPA_BANK_API_URL: bank.url,
        SEPA_BANK_API_KEY: bank.apiKey,
      },
      worker: true,
      web: true,
    });
    c = stack.c;
  });
  afterEach(async () => {
    for (const ref of opened.splice(0)) await api("POST", `/mandates/${ref}/revoke`);
  });
  afterAll(async () => {
    await stack?.close();
    await bank?.close();
    await chain?.stop();
  });

  it("a mandate with a bad IBAN is a 400 naming the field, and nothing is stored; a good one answers with the IBAN masked", async () => {
    const inv = await newInvestor();
    const base = { investorId: inv.id, debtorName: "Ada Lovelace", signatureDate: "2026-11-30", mandateRef: `M-${randomUUID().slice(0, 8)}` };
    const badChecksum = await api("POST", "/mandates", { ...base, iban: "DE89370400440532013001" });
    expect(badChecksum.status).toBe(400);
    expect(badChecksum.body.issues).toEqual(["iban: not a valid IBAN: check digits do not match (mod-97)"]);
    const badLength = await api("POST", "/mandates", { ...base, iban: "DE8937040044053201300" });
    expect(badLength.status).toBe(400);
    expect(badLength.body.issues).toEqual([expect.stringMatching(/^iban: not a valid IBAN: wrong length/)]);
    expect(await c.dbh.db.selectFrom("sepa_mandates").select("mandate_ref").where("investor_id", "=", inv.id).execute()).toEqual([]);

    const created = await api("POST", "/mandates", { ...base, iban: "DE89 3704 0044 0532 0130 00" });
    expect(created.status).toBe(201);
    expect(created.body).toEqual(
      expect.objectContaining({ mandateRef: base.mandateRef, creditorId: CREDITOR.SEPA_CREDITOR_ID, iban: "DE89**************3000", status: "active" }),
    );
    const repeat = await api("POST", "/mandates", { ...base, iban: "DE89370400440532013000" });
    expect(repeat.status).toBe(200);
    expect((await api("GET", `/mandates/${base.mandateRef}?reveal=iban`)).body.iban).toBe("DE89370400440532013000");
    expect((await api("POST", "/mandates", { ...base, iban: IBANS[0] })).status).toBe(409);
    await revoke(base.mandateRef);
  });

  it("two subscriptions of one investor over two periods: one order per subscription and period, one valid pain.008 per collection date, FRST then RCUR", async () => {
    const inv = await newInvestor();
    const [m1, m2] = [await newMandate(inv.id), await newMandate(inv.id)];
    const s1 = await newSubscription({ investorId: inv.id, mandateRef: m1, amount: "100.00", startPeriod: "2031-03" });
    const s2 = await newSubscription({ investorId: inv.id, mandateRef: m2, amount: "50.50", startPeriod: "2031-03" });
    const filesBefore = bank.files.size;

    // Period 1: due the 15th; a first debit is gathered 5 days ahead. Too early the day before.
    expect((await collect("2031-03-09")).debits).toBe(0);
    const first = await collect("2031-03-10");
    expect(first.debits).toBe(2);
    expect((await collect("2031-03-11")).debits).toBe(0);
    // Period 2: recurring debits are gathered 2 days ahead.
    expect((await collect("2031-04-12")).debits).toBe(0);
    const second = await collect("2031-04-13");
    expect(second.debits).toBe(2);
    expect((await collect("2031-04-13")).debits).toBe(0);

    for (const s of [s1, s2]) {
      const debits = await debitsOf(s.id);
      expect(debits.map((d) => [d.period, d.sequence_type, d.collection_date, d.status])).toEqual([
        ["2031-03", "FRST", "2031-03-15", "submitted"],
        ["2031-04", "RCUR", "2031-04-15", "submitted"],
      ]);
      const orders = await c.dbh.db.selectFrom("orders").selectAll().where("reference_id", "like", `SDD-${s.id}-%`).orderBy("reference_id").execute();
      expect(orders.map((o) => o.reference_id)).toEqual([`SDD-${s.id}-2031-03`, `SDD-${s.id}-2031-04`]);
      for (const o of orders) {
        expect(o).toEqual(expect.objectContaining({ status: "pending", currency: "EUR", expected_amount: s.amount, investor_id: inv.id }));
        expect(BigInt(o.token_amount)).toBe(s.amount === "100.00" ? 100n * ONE_EUR : 50n * ONE_EUR + ONE_EUR / 2n);
      }
    }

    expect(bank.files.size - filesBefore).toBe(2);
    const files = [first, second].map((run) => {
      expect(run.submitted).toHaveLength(1);
      return bank.files.get(run.submitted[0].msgId)!.body;
    });
    const summaries = files.map((xml) => {
      const { problems, summary } = checkPain008(xml);
      expect(problems).toEqual([]);
      return summary;
    });
    expect(summaries.map((s) => [s.nbOfTxs, s.ctrlSum, s.blocks.map((b) => [b.sequenceType, b.collectionDate, b.ctrlSum])])).toEqual([
      [2, "150.50", [["FRST", "2031-03-15", "150.50"]]],
      [2, "150.50", [["RCUR", "2031-04-15", "150.50"]]],
    ]);
    // The check can fail: a file missing a mandatory element, with children out of order, or a bad amount.
    expect(checkPain008(files[0]!.replace(/<ReqdColltnDt>[^<]*<\/ReqdColltnDt>/, "")).problems).toContain("CstmrDrctDbtInitn/PmtInf: missing ReqdColltnDt");
    expect(checkPain008(files[0]!.replace(/(<MsgId>[^<]*<\/MsgId>)(<CreDtTm>[^<]*<\/CreDtTm>)/, "$2$1")).problems).toContain(
      "CstmrDrctDbtInitn/GrpHdr: MsgId out of order",
    );
    expect(checkPain008(files[0]!.replace(">100.00<", ">100.001<")).problems).toEqual(
      expect.arrayContaining([expect.stringContaining('"100.001" is not a valid InstdAmt')]),
    );
    const e2e = (await Promise.all([s1, s2].map((s) => debitsOf(s.id)))).flat();
    expect(summaries.flatMap((s) => s.blocks.flatMap((b) => b.debits.map((d) => d.endToEndId))).sort()).toEqual(e2e.map((d) => d.end_to_end_id).sort());
    for (const summary of summaries) {
      expect(summary.blocks[0]!.debits.map((d) => [d.mandateId, d.amount]).sort()).toEqual(
        [
          [m1, "100.00"],
          [m2, "50.50"],
        ].sort(),
      );
    }
    // The stored file is the one the bank has, byte for byte.
    const stored = await c.dbh.db
      .selectFrom("sepa_collections")
      .select(["msg_id", "document", "bank_file_id", "status"])
      .where("msg_id", "=", first.submitted[0].msgId)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ msg_id: first.submitted[0].msgId, document: files[0], bank_file_id: bank.files.get(stored.msg_id!)!.fileId, status: "submitted" });
  });

  it("a value the file cannot carry names the field, never the value (IBANs and names are personal data)", () => {
    const creditor = { id: CREDITOR.SEPA_CREDITOR_ID, name: CREDITOR.SEPA_CREDITOR_NAME, iban: CREDITOR.SEPA_CREDITOR_IBAN };
    const debit = {
      endToEndId: "HR1",
      amountCents: 1000n,
      sequenceType: "FRST" as const,
      mandateRef: "M1",
      signatureDate: "2026-11-30",
      debtorName: "Ada Lovelace",
      bic: null,
      remittance: "x",
    };
    const build = (iban: string) => () =>
      buildPain008({ msgId: "HR1C1", createdAt: new Date(), collectionDate: "2031-01-15", creditor, debits: [{ ...debit, iban }] });
    expect(build("DE75512108001245126199")()).toContain("<IBAN>DE75512108001245126199</IBAN>");
    expect(build("DE00512108001245126199")).toThrow("pain.008 HR1C1 not built: debtorIBAN is invalid (value not shown: personal data)");
  });

  it("the collection runs on its own scheduler, daily at 06:00 UTC by default", async () => {
    await registerSchedulers(c.queues, QUEUE_MODULES, c.config);
    const queue = c.queues.queue("sepa-collection");
    try {
      expect(await queue.getJobScheduler("sepa-collection-daily")).toEqual(expect.objectContaining({ pattern: "0 6 * * *", tz: "UTC", name: "collect" }));
    } finally {
      for (const m of QUEUE_MODULES) if (m.scheduler) await c.queues.queue(m.name).removeJobScheduler(m.scheduler.id);
    }
  });

  it("a run killed after submitting and before recording: the rerun submits the same MsgId, the bank's duplicate counts as success, nothing is collected twice", async () => {
    const inv = await newInvestor();
    const mandate = await newMandate(inv.id);
    const sub = await newSubscription({ investorId: inv.id, mandateRef: mandate, amount: "75.25", startPeriod: "2032-01" });
    const real = createSepaBankClient({ baseUrl: bank.url, apiKey: bank.apiKey, timeoutMs: 5_000 });
    const dying: SepaBankClient = {
      submitFile: async (msgId, xml) => {
        await real.submitFile(msgId, xml);
        throw new Error("worker killed after the upload, before recording it");
      },
    };
    const deps = { db: c.dbh.db, bank: dying, creditor: sepaCreditor(c.config)!, lead: { FRST: 5, RCUR: 2 }, log: createLogger("silent") };
    await expect(runCollection(deps, "2032-01-10")).rejects.toThrow("worker killed");
    const [debit] = await debitsOf(sub.id);
    const file = await c.dbh.db.selectFrom("sepa_collections").selectAll().where("id", "=", debit!.collection_id!).executeTakeFirstOrThrow();
    expect(file.status).toBe("built");
    expect(bank.files.get(file.msg_id!)?.body).toBe(file.document);

    const rerun = await collect("2032-01-10");
    expect(rerun.debits).toBe(0);
    expect(rerun.submitted).toEqual([{ msgId: file.msg_id, fileId: bank.files.get(file.msg_id!)!.fileId, duplicate: true }]);
    const uploads = bank.uploads.filter((u) => u.messageId === file.msg_id);
    expect(uploads.map((u) => u.status)).toEqual([201, 409]);
    expect(uploads[1]!.body).toBe(uploads[0]!.body);
    expect(await debitsOf(sub.id)).toEqual([expect.objectContaining({ status: "submitted", collection_id: file.id })]);
    expect(await c.dbh.db.selectFrom("orders").select("reference_id").where("reference_id", "like", `SDD-${sub.id}-%`).execute()).toHaveLength(1);
    expect(
      await c.dbh.db.selectFrom("sepa_collections").select(["status", "submissions", "bank_file_id"]).where("id", "=", file.id).executeTakeFirstOrThrow(),
    ).toEqual({ status: "submitted", submissions: 2, bank_file_id: bank.files.get(file.msg_id!)!.fileId });
  });

  it("a camt.054 credit pays the order and mints it on anvil once, also delivered three times; a later MD06 return flags it and counts", async () => {
    const inv = await newInvestor(true);
    const mandate = await newMandate(inv.id);
    const sub = await newSubscription({ investorId: inv.id, mandateRef: mandate, amount: "250.00", startPeriod: "2033-01" });
    const run = await collect("2033-01-10");
    expect(run.submitted).toHaveLength(1);
    const [debit] = await debitsOf(sub.id);
    const ref = debit!.order_reference;

    const credit = camt054({
      msgId: `CAMT-${randomUUID().slice(0, 8)}`,
      creditorIban: CREDITOR.SEPA_CREDITOR_IBAN,
      bookingDate: "2033-01-15",
      direction: "CRDT",
      batchMsgId: run.submitted[0].msgId,
      movements: [{ endToEndId: debit!.end_to_end_id, amount: "250.00" }],
    });
    const first = await report("debit_credit_notification", credit);
    expect(first.status).toBe(202);
    expect((await report("debit_credit_notification", credit)).status).toBe(200);
    expect((await report("debit_credit_notification", credit)).status).toBe(200);
    const done = await waitFor(async () => ((await order(ref)).status === "completed" ? order(ref) : undefined), 30_000, "order minted");
    expect(done.payment).toEqual(expect.objectContaining({ source: "bank", proof: debit!.end_to_end_id, amount: "250.00", currency: "EUR" }));
    // Once more after Redis forgot the job: Postgres says it is paid, nothing is minted again.
    await c.queues.queue("sepa-reports").remove(first.body.jobId);
    const again = await report("debit_credit_notification", credit);
    expect(again.status).toBe(202);
    await waitFor(async () => (await c.queues.queue("sepa-reports").getJobState(again.body.jobId)) === "completed", 20_000, "redelivery processed");
    const minted = 250n * ONE_EUR;
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(minted);
    expect(await c.dbh.db.selectFrom("chain_transactions").select("intent_key").where("intent_key", "=", `mint:${ref}`).execute()).toHaveLength(1);
    expect((await debitsOf(sub.id))[0]!.status).toBe("settled");

    const returnsBefore = await counter("hookrail_sepa_debits_returned_total", { reason: "MD06", stage: "after_mint" });
    expect((await reportReturn(debit!.end_to_end_id, "250.00", "2033-02-20")).status).toBe(202);
    const flagged = await waitFor(async () => ((await order(ref)).status === "flagged" ? order(ref) : undefined), 20_000, "order flagged");
    expect(flagged.flagReason).toMatch(/returned .*reason MD06.*after the order was minted \(0x[0-9a-f]{64}\); tokens were not burnt/);
    expect(await counter("hookrail_sepa_debits_returned_total", { reason: "MD06", stage: "after_mint" })).toBe(returnsBefore + 1);
    expect((await debitsOf(sub.id))[0]).toEqual(expect.objectContaining({ status: "returned", reason_code: "MD06" }));
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(minted);
  });

  it("a return for an order whose mint failed (nothing minted) fails it, so no retry can mint it later", async () => {
    const inv = await newInvestor(true);
    const mandate = await newMandate(inv.id);
    const sub = await newSubscription({ investorId: inv.id, mandateRef: mandate, amount: "75.00", startPeriod: "2034-01" });
    const run = await collect("2034-01-10");
    expect(run.submitted).toHaveLength(1);
    const [debit] = await debitsOf(sub.id);
    const ref = debit!.order_reference;
    // Where a reverted mint leaves an order: paid, nothing minted, mint_failed.
    await c.dbh.db
      .updateTable("orders")
      .set({ status: "mint_failed", failure_reason: "mint transaction 0xabc reverted", paid_at: new Date() })
      .where("reference_id", "=", ref)
      .execute();
    const returnsBefore = await counter("hookrail_sepa_debits_returned_total", { reason: "MD06", stage: "before_mint" });
    expect((await reportReturn(debit!.end_to_end_id, "75.00", "2034-02-20")).status).toBe(202);
    const failed = await waitFor(async () => ((await order(ref)).status === "failed" ? order(ref) : undefined), 20_000, "order failed");
    expect(failed.failureReason).toMatch(/returned by the debtor's bank, reason MD06/);
    expect(await counter("hookrail_sepa_debits_returned_total", { reason: "MD06", stage: "before_mint" })).toBe(returnsBefore + 1);
    const retry = await api("POST", `/orders/${ref}/retry-mint`, { reason: "try again" });
    expect([retry.status, retry.body.error]).toEqual([409, `order ${ref} is failed, not mint_failed; nothing changed`]);
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(0n);
  });

  it("a pain.002 rejection fails the order with its reason code and counts it; a report that is not XML is a 400 naming the field", async () => {
    const inv = await newInvestor(true);
    const [m1, m2] = [await newMandate(inv.id), await newMandate(inv.id)];
    const s1 = await newSubscription({ investorId: inv.id, mandateRef: m1, amount: "10.00", startPeriod: "2034-06" });
    const s2 = await newSubscription({ investorId: inv.id, mandateRef: m2, amount: "20.00", startPeriod: "2034-06" });
    const run = await collect("2034-06-10");
    expect(run.submitted).toHaveLength(1);
    const [d1] = await debitsOf(s1.id);
    const [d2] = await debitsOf(s2.id);
    const before = await counter("hookrail_sepa_debits_rejected_total", { reason: "AM04" });

    const status = pain002({
      msgId: `P002-${randomUUID().slice(0, 8)}`,
      originalMsgId: run.submitted[0].msgId,
      groupStatus: "PART",
      rejected: [{ endToEndId: d1!.end_to_end_id, reason: "AM04" }],
    });
    expect((await report("payment_status_report", status)).status).toBe(202);
    const failed = await waitFor(
      async () => ((await order(d1!.order_reference)).status === "failed" ? order(d1!.order_reference) : undefined),
      20_000,
      "order failed",
    );
    expect(failed.failureReason).toBe(`bank payment ${d1!.end_to_end_id} failed: SEPA debit rejected, reason AM04`);
    expect((await debitsOf(s1.id))[0]).toEqual(expect.objectContaining({ status: "rejected", reason_code: "AM04" }));
    expect(await counter("hookrail_sepa_debits_rejected_total", { reason: "AM04" })).toBe(before + 1);
    // The other debit of the file is untouched.
    expect((await order(d2!.order_reference)).status).toBe("pending");
    expect((await debitsOf(s2.id))[0]!.status).toBe("submitted");
    // A rejected first debit leaves the mandate's next debit a first one again.
    expect((await collect("2034-07-10")).debits).toBe(1);
    expect((await debitsOf(s1.id)).map((d) => d.sequence_type)).toEqual(["FRST", "FRST"]);

    const notXml = await report("payment_status_report", "<Document><CstmrPmtStsRpt>");
    expect(notXml.status).toBe(400);
    expect(notXml.body.issues).toEqual([expect.stringMatching(/^data\.document: /)]);
    const notSepa = await report("payment_status_report", "<Document><Something/></Document>");
    expect(notSepa.body.issues).toEqual(["data.document: expected a pain.002 (CstmrPmtStsRpt) or camt.054 (BkToCstmrDbtCdtNtfctn) document"]);
  });

  it("a credit whose amount is not the debit's flags the order through the payment path and dead-letters the report; nothing is minted", async () => {
    const inv = await newInvestor(true);
    const mandate = await newMandate(inv.id);
    const sub = await newSubscription({ investorId: inv.id, mandateRef: mandate, amount: "20.00", startPeriod: "2035-02" });
    expect((await collect("2035-02-10")).submitted).toHaveLength(1);
    const [debit] = await debitsOf(sub.id);
    const credit = camt054({
      msgId: `CAMT-${randomUUID().slice(0, 8)}`,
      creditorIban: CREDITOR.SEPA_CREDITOR_IBAN,
      bookingDate: "2035-02-15",
      direction: "CRDT",
      movements: [{ endToEndId: debit!.end_to_end_id, amount: "19.99" }],
    });
    const sent = await report("debit_credit_notification", credit);
    expect(sent.status).toBe(202);
    const flagged = await waitFor(
      async () => ((await order(debit!.order_reference)).status === "flagged" ? order(debit!.order_reference) : undefined),
      20_000,
      "order flagged",
    );
    expect(flagged.flagReason).toContain("amount 19.99 != expected 20");
    const letter = await waitFor(
      async () => (await listDeadLetters(c.queues.deadLetters("sepa-reports"))).find((l) => l.jobId === sent.body.jobId),
      20_000,
      "report dead-lettered",
    );
    expect(letter).toEqual(
      expect.objectContaining({ unrecoverable: true, failedReason: expect.stringContaining(`does not match order ${debit!.order_reference}`) }),
    );
    expect(await c.dbh.db.selectFrom("chain_transactions").select("intent_key").where("intent_key", "=", `mint:${debit!.order_reference}`).execute()).toEqual(
      [],
    );
  });

  it("a debit planned under a mandate revoked before its file was built is never sent: closed as REVOKED, its order failed", async () => {
    const inv = await newInvestor();
    const mandate = await newMandate(inv.id);
    const sub = await newSubscription({ investorId: inv.id, mandateRef: mandate, amount: "30.00", startPeriod: "2037-01" });
    // A run that died after planning: the debit exists, no file yet.
    expect(await planDebits({ db: c.dbh.db, lead: { FRST: 5, RCUR: 2 } }, "2037-01-10")).toEqual([`SDD-${sub.id}-2037-01`]);
    await revoke(mandate);
    const filesBefore = bank.files.size;
    const rerun = await collect("2037-01-10");
    expect(rerun).toEqual(expect.objectContaining({ debits: 0, dropped: [`SDD-${sub.id}-2037-01`], files: [] }));
    expect(bank.files.size).toBe(filesBefore);
    expect((await debitsOf(sub.id))[0]).toEqual(expect.objectContaining({ status: "rejected", reason_code: "REVOKED", collection_id: null }));
    expect((await order(`SDD-${sub.id}-2037-01`)).status).toBe("failed");
  });
});
