import { type Context, Hono } from "hono";
import { html } from "hono/html";
import { type ListedDeadLetter, listDeadLetters, purgeDeadLetters, replayDeadLetters } from "../queues/dead-letter.js";
import type { QueueSet } from "../queues/queue-set.js";
import type { AuditLog } from "./audit.js";
import { formTokenMatches, type OpsAuth, operatorForWrites, sameOrigin, signedIn } from "./auth/guard.js";
import type { AuthVariables } from "./auth/identity.js";

export const DEAD_LETTERS_PATH = "/admin/dead-letters";

export interface DeadLettersPageDeps {
  queues: QueueSet;
  /** The queue names (each has a dead-letter queue). */
  queueNames: readonly string[];
  auth: OpsAuth;
  audit: AuditLog;
  ip: (c: Context) => string | undefined;
}

type Env = { Variables: AuthVariables };

const when = (ms: number | null) => (ms ? new Date(ms).toISOString() : "");

function page(c: Context<Env>, sections: { queue: string; letters: ListedDeadLetter[] }[], notice: string | undefined) {
  const actor = c.get("actor");
  const operator = actor.role === "operator";
  const csrf = c.get("csrf") ?? "";
  const form = (queue: string, action: string, label: string, extra?: ReturnType<typeof html>) =>
    html`<form method="post" action="${DEAD_LETTERS_PATH}/${encodeURIComponent(queue)}/${action}" style="display:inline">
<input type="hidden" name="csrf" value="${csrf}">${extra ?? ""}<button type="submit">${label}</button></form>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dead letters · hookrail</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin-bottom:2rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}.notice{background:#eef;padding:.5rem}</style></head>
<body>
<p><a href="/admin/queues">← Board</a> · <a href="/admin/flagged-orders">Flagged orders</a> · signed in as <strong>${actor.name}</strong> (${actor.role})${actor.kind === "oidc" || actor.kind === "saml" ? html` · <a href="/admin/logout">Log out</a>` : ""}</p>
<h1>Dead letters</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ""}
${sections.map(
  (s) => html`<section data-queue="${s.queue}"><h2>${s.queue} (${s.letters.length})</h2>
${
  s.letters.length === 0
    ? html`<p>None.</p>`
    : html`${operator ? html`<p>${form(s.queue, "replay", "Replay all", html`<input type="hidden" name="all" value="1">`)} ${form(s.queue, "purge", "Purge all", html`<label><input type="checkbox" name="confirm" value="${s.queue}" required> delete all ${s.letters.length}</label> `)}</p>` : ""}
<table><tr><th>id</th><th>job id</th><th>name</th><th>reason</th><th>attempts</th><th>dead-lettered</th>${operator ? html`<th></th>` : ""}</tr>
${s.letters.map(
  (l) =>
    html`<tr data-id="${l.id}" data-job-id="${l.jobId}"><td>${l.id}</td><td>${l.jobId}</td><td>${l.name}</td><td>${l.failedReason}</td><td>${l.attemptsMade}</td><td>${when(l.deadLetteredAt)}</td>${
      operator
        ? html`<td>${l.kind === "job" ? form(s.queue, "replay", "Replay", html`<input type="hidden" name="id" value="${l.id}">`) : "raw message"}</td>`
        : ""
    }</tr>`,
)}</table>`
}</section>`,
)}
</body></html>`;
}

/**
 * A small page beside the board: every queue's dead letters, and for operators replay (one or
 * all) and purge, through the same functions as `npm run dlq` so the semantics are the CLI's.
 * Forms carry the session's CSRF token besides the same-origin check.
 */
export function deadLettersPage(deps: DeadLettersPageDeps): Hono<Env> {
  const app = new Hono<Env>();
  const known = (q: string) => deps.queueNames.includes(q);
  app.use("*", signedIn(deps.auth), sameOrigin());
  app.use(
    "*",
    operatorForWrites(async (c) => {
      await deps.audit.record({ actor: c.get("actor"), action: "dead_letter.write", target: c.req.path, ip: deps.ip(c), result: "refused" });
    }),
  );

  app.get("/", async (c) => {
    const sections = await Promise.all(deps.queueNames.map(async (queue) => ({ queue, letters: await listDeadLetters(deps.queues.deadLetters(queue)) })));
    return c.html(page(c, sections, c.req.query("notice")));
  });

  const back = (c: Context, notice: string) => c.redirect(`${DEAD_LETTERS_PATH}?notice=${encodeURIComponent(notice)}`, 303);

  app.post("/:queue/:action{replay|purge}", async (c) => {
    const queue = c.req.param("queue");
    if (!known(queue)) return c.json({ error: `queue: unknown queue "${queue}"` }, 400);
    const form = await c.req.parseBody();
    if (!formTokenMatches(c.get("csrf"), form.csrf)) return c.json({ error: "csrf: missing or wrong form token; reload the page" }, 403);
    const actor = c.get("actor");
    const ip = deps.ip(c);
    if (c.req.param("action") === "purge") {
      if (form.confirm !== queue) return c.json({ error: "confirm: tick the box to purge every dead letter" }, 400);
      const purged = await purgeDeadLetters(deps.queues.deadLetters(queue));
      await deps.audit.record({ actor, action: "dead_letter.purge", target: queue, ip, result: "ok", detail: { purged } });
      return back(c, `purged ${purged} dead letter(s) from ${queue}`);
    }
    const all = form.all === "1";
    const id = typeof form.id === "string" ? form.id : undefined;
    if (!all && !id) return c.json({ error: "id: which dead letter to replay (or all=1)" }, 400);
    const result = await replayDeadLetters(deps.queues.queue(queue), deps.queues.deadLetters(queue), all ? "all" : [id!]);
    const outcome = result.replayed.length > 0 ? "ok" : "skipped";
    await deps.audit.record({ actor, action: "dead_letter.replay", target: all ? `${queue}/*` : `${queue}/${id}`, ip, result: outcome, detail: { ...result } });
    const skipped = result.skipped.map((s) => `${s.jobId}: ${s.reason}`).join("; ");
    return back(c, `replayed ${result.replayed.length} on ${queue}${skipped ? `; skipped ${skipped}` : ""}`);
  });

  return app;
}
