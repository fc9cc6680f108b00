import { z } from "zod";
import { eventJobId } from "../../../queues/job-id.js";
import { allowlistSetting, defineProvider, secretsVerifier, webhookQueue, type WebhookJob } from "../provider.js";
import { StandardWebhooksVerifier } from "../verify/standard-webhooks.js";
import { ReportError, readSepaReport, type SepaReport } from "./sepa-reports.js";

const code = z.string().min(1).max(35).nullable();
const decimalText = z.string().regex(/^\d+(\.\d+)?$/, { error: "expected a decimal amount" });

/** What a report becomes in the job: the ids, statuses, reason codes and exact amounts the processors use. */
export const sepaReportSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("pain.002"),
    msgId: z.string().min(1),
    originalMsgId: z.string().min(1),
    groupStatus: code,
    groupReason: code,
    transactions: z.array(z.object({ endToEndId: z.string().min(1), status: z.string().min(1), reason: code })),
  }),
  z.object({
    kind: z.literal("camt.054"),
    msgId: z.string().min(1),
    movements: z.array(
      z.object({
        endToEndId: z.string().min(1),
        amount: decimalText,
        currency: z.string().min(3).max(3),
        direction: z.enum(["CRDT", "DBIT"]),
        reversal: z.boolean(),
        entryStatus: z.string().min(1),
        returnReason: code,
        bookingDate: z.string().nullable(),
        entryReference: z.string().nullable(),
      }),
    ),
  }),
]) satisfies z.ZodType<SepaReport>;

/** The job's payload: the notification's type and the report read from its XML. */
export const sepaReportJobPayload = z.object({ type: z.string(), report: sepaReportSchema });

/**
 * The bank's SEPA report notification, Standard Webhooks style: `{type, timestamp, data:
 * {document}}` with the pain.002 or camt.054 XML as `data.document`. The reader parses the XML
 * at the edge; the job carries only what was read from it, never the document (which names
 * debtors and their IBANs).
 */
export const sepaReportPayload = z
  .looseObject({
    type: z.string().min(1).max(200),
    timestamp: z.string().optional(),
    data: z.looseObject({ document: z.string().min(1, { error: "required: the report's XML" }) }),
  })
  .transform((p, ctx) => {
    try {
      return { type: p.type, report: readSepaReport(p.data.document) };
    } catch (err) {
      if (!(err instanceof ReportError)) throw err;
      ctx.addIssue({ code: "custom", path: ["data", "document"], message: err.message });
      return z.NEVER;
    }
  })
  .pipe(sepaReportJobPayload);

export type SepaReportPayload = z.output<typeof sepaReportJobPayload>;
export const sepaReportsQueue = webhookQueue("sepa-reports", sepaReportJobPayload);
export type SepaReportJob = WebhookJob<SepaReportPayload>;

/** Bank status reports for SEPA Direct Debit: pain.002 (rejections) and camt.054 (credits, returns). */
export const sepaProvider = defineProvider({
  name: "sepa",
  path: "/payments/sepa",
  reader: sepaReportPayload,
  // The report's own MsgId: a report delivered again is the same job.
  identify: (p) => ({ eventId: p.report.msgId, jobId: eventJobId("sepa", [p.report.kind, p.report.msgId]), jobName: p.report.kind }),
  queue: sepaReportsQueue,
  verifier: secretsVerifier("SEPA_WEBHOOK_SECRETS", (secrets) => new StandardWebhooksVerifier(secrets)),
  allowlist: allowlistSetting("SEPA_IP_ALLOWLIST"),
});
