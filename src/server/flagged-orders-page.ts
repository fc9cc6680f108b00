import { type Context, Hono } from "hono";
import { html } from "hono/html";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { type FlaggedAction, resolveFlagged } from "./api/flagged-orders.js";
import type { AuditLog } from "./audit.js";
import { formTokenMatches, type OpsAuth, operatorForWrites, sameOrigin, signedIn } from "./auth/guard.js";
import type { AuthVariables } from "./auth/identity.js";

export const FLAGGED_ORDERS_PATH = "/admin/flagged-orders";

export interface FlaggedOrdersPageDeps {
  db: Kysely<Database>;
  auth: OpsAuth;
  audit: AuditLog;
  ip: (c: Context) => string | undefined;
  onAccepted: (referenceId: string) => Promise<void>;
}

type Env = { Variables: AuthVariables };

const ACTIONS: { action: FlaggedAction; label: string }[] = [
  { action: "accept-payment", label: "Accept payment as received" },
  { action: "cancel", label: "Cancel (refund pending)" },
  { action: "reopen", label: "Re-open for a new payment" },
];

/**
 * Orders flagged for a payment that did not match, with the three resolutions of the admin
 * API (`POST /api/orders/:ref/{accept-payment|cancel|reopen}`) as forms for operators: the
 * same function applies them, once each, and each is audited under the signed-in user.
 */
export function flaggedOrdersPage(deps: FlaggedOrdersPageDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.use("*", signedIn(deps.auth), sameOrigin());
  app.use(
    "*",
    operatorForWrites(async (c) => {
      await deps.audit.record({ actor: c.get("actor"), action: "order.write", target: c.req.path, ip: deps.ip(c), result: "refused" });
    }),
  );

  app.get("/", async (c) => {
    const orders = await deps.db.selectFrom("orders").selectAll().where("status", "=", "flagged").orderBy("updated_at").limit(200).execute();
    const operator = c.get("actor").role === "operator";
    const notice = c.req.query("notice");
    return c.html(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flagged orders · hookrail</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}.notice{background:#eef;padding:.5rem}</style></head>
<body><p><a href="/admin/queues">← Board</a> · <a href="/admin/dead-letters">Dead letters</a> · signed in as <strong>${c.get("actor").name}</strong> (${c.get("actor").role})</p>
<h1>Flagged orders</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ""}
${
  orders.length === 0
    ? html`<p>None.</p>`
    : html`<p>Accepting keeps the order's token amount (hookrail does not re-price); the order then mints, or waits for KYC.</p>
<table><tr><th>reference</th><th>investor</th><th>tokens</th><th>expected</th><th>paid</th><th>reason</th>${operator ? html`<th></th>` : ""}</tr>
${orders.map(
  (o) =>
    html`<tr data-reference="${o.reference_id}"><td>${o.reference_id}</td><td>${o.investor_id}</td><td>${o.token_amount}</td><td>${o.expected_amount} ${o.currency}</td><td>${o.paid_amount ?? ""} ${o.paid_currency ?? ""}</td><td>${o.flag_reason ?? ""}</td>${
      operator
        ? html`<td><form method="post" action="${FLAGGED_ORDERS_PATH}/${encodeURIComponent(o.reference_id)}"><input type="hidden" name="csrf" value="${c.get("csrf") ?? ""}">
<label>Reason <input name="reason" required maxlength="500"></label>
${ACTIONS.map((a) => html`<button type="submit" name="action" value="${a.action}">${a.label}</button>`)}</form></td>`
        : ""
    }</tr>`,
)}</table>`
}</body></html>`);
  });

  app.post("/:referenceId", async (c) => {
    const ref = c.req.param("referenceId");
    const form = await c.req.parseBody();
    if (!formTokenMatches(c.get("csrf"), form.csrf)) return c.json({ error: "csrf: missing or wrong form token; reload the page" }, 403);
    const action = ACTIONS.find((a) => a.action === form.action)?.action;
    if (!action) return c.json({ error: "action: expected accept-payment, cancel or reopen" }, 400);
    const reason = typeof form.reason === "string" ? form.reason.trim() : "";
    if (reason.length === 0 || reason.length > 500) return c.json({ error: "reason: expected why (1-500 characters)" }, 400);
    const outcome = await resolveFlagged(deps.db, ref, action, reason);
    const result = "status" in outcome ? "ok" : "missing" in outcome ? "http 404" : "http 409";
    await deps.audit.record({ actor: c.get("actor"), action: `order.${action}`, target: `orders/${ref}`, ip: deps.ip(c), result, detail: { reason } });
    if ("missing" in outcome) return c.json({ error: "no such order" }, 404);
    if ("conflict" in outcome)
      return c.redirect(`${FLAGGED_ORDERS_PATH}?notice=${encodeURIComponent(`order ${ref} is ${outcome.conflict}, not flagged; nothing changed`)}`, 303);
    if (outcome.status === "minting") await deps.onAccepted(ref);
    return c.redirect(`${FLAGGED_ORDERS_PATH}?notice=${encodeURIComponent(`order ${ref} is now ${outcome.status}`)}`, 303);
  });

  return app;
}
