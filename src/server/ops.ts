import { type Context, Hono } from "hono";
import { html } from "hono/html";
import type { QueueSet } from "../queues/queue-set.js";
import type { AuditLog } from "./audit.js";
import { formTokenMatches, type OpsAuth, sameOrigin, signedIn } from "./auth/guard.js";
import type { AuthVariables } from "./auth/identity.js";
import { messagePage } from "./auth/pages.js";
import { boardRoutes } from "./board.js";
import { deadLettersPage } from "./dead-letters-page.js";
import { type FlaggedOrdersPageDeps, flaggedOrdersPage } from "./flagged-orders-page.js";

export const OPS_PATH = "/admin";

export interface OpsDeps {
  queues: QueueSet;
  queueNames: readonly string[];
  auth: OpsAuth;
  audit: AuditLog;
  ip: (c: Context) => string | undefined;
  /** The SSO's own routes (/login and its callback, metadata), when SSO is on. */
  login?: Hono;
  db: FlaggedOrdersPageDeps["db"];
  /** An accepted flagged order's mint job is enqueued by the process (the server knows no processors). */
  onOrderAccepted: FlaggedOrdersPageDeps["onAccepted"];
}

/** The ops surface under /admin: sign-in and sign-out, bull-board, the dead-letter and flagged-order pages. */
export function opsRoutes(deps: OpsDeps): Hono {
  const app = new Hono();
  const { auth } = deps;
  if (deps.login) app.route("/", deps.login);
  if (auth.kind === "sso") {
    const logout = new Hono<{ Variables: AuthVariables }>();
    logout.use("*", signedIn(auth), sameOrigin());
    // A GET only shows the button: a link elsewhere must not be able to sign anyone out.
    logout.get("/", (c) =>
      c.html(
        html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log out · hookrail</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto"><p>Signed in as <strong>${c.get("actor").name}</strong> (${c.get("actor").role}).</p>
<form method="post" action="/admin/logout"><input type="hidden" name="csrf" value="${c.get("csrf") ?? ""}"><button type="submit">Log out</button></form></body></html>`,
      ),
    );
    logout.post("/", async (c) => {
      const form = await c.req.parseBody();
      if (!formTokenMatches(c.get("csrf"), form.csrf)) return c.json({ error: "csrf: missing or wrong form token; reload the page" }, 403);
      await auth.sessions.destroy(c);
      await deps.audit.record({ actor: c.get("actor"), action: "session.logout", ip: deps.ip(c), result: "ok" });
      return c.html(messagePage("Signed out", 'You are signed out of hookrail. <a href="/admin/login">Sign in again</a>.', true));
    });
    app.route("/logout", logout);
  }
  app.route("/queues", boardRoutes(deps));
  app.route("/dead-letters", deadLettersPage(deps));
  app.route("/flagged-orders", flaggedOrdersPage({ ...deps, onAccepted: deps.onOrderAccepted }));
  return app;
}
