import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import type { AuthVariables } from "./identity.js";
import type { Sessions } from "./session.js";

/** How people sign in to the ops surface: one of the two, never both (config refuses). */
export type OpsAuth = { kind: "basic"; username: string; password: string } | { kind: "sso"; sessions: Sessions };

type Env = { Variables: AuthVariables };

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Who is this? Basic auth makes its user an operator (small setups have one shared login).
 * Without a live session, a page request is sent to the login (back here afterwards) and
 * anything else gets 401.
 */
export function signedIn(auth: OpsAuth): MiddlewareHandler<Env> {
  if (auth.kind === "basic") {
    const check = basicAuth({ username: auth.username, password: auth.password, realm: "hookrail" });
    return async (c, next) =>
      check(c, async () => {
        c.set("actor", { name: auth.username, kind: "basic", role: "operator" });
        await next();
      });
  }
  return async (c, next) => {
    const session = await auth.sessions.read(c);
    if (!session) {
      const url = new URL(c.req.url);
      if (SAFE.has(c.req.method) && !url.pathname.includes("/api/")) {
        return c.redirect(`/admin/login?returnTo=${encodeURIComponent(url.pathname + url.search)}`, 302);
      }
      return c.json({ error: "not signed in (or the session expired)" }, 401);
    }
    c.set("actor", { name: session.name, kind: session.kind, role: session.role });
    c.set("csrf", session.csrf);
    await next();
  };
}

/**
 * CSRF defence for every state-changing request: the browser's own Origin header (sent on
 * every cross-origin request and on same-origin POST/PUT/DELETE/PATCH by current browsers,
 * including bull-board's fetches) must name this host, or, where a client sends no Origin,
 * Sec-Fetch-Site must say same-origin. A request showing neither is refused. SameSite=Lax
 * cookies already keep a cross-site POST from carrying the session; this also covers basic
 * auth, whose credentials browsers attach to cross-site requests.
 */
export function sameOrigin(): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (SAFE.has(c.req.method)) return next();
    const origin = c.req.header("origin");
    const host = c.req.header("host");
    let ok = false;
    if (origin && origin !== "null") {
      try {
        ok = new URL(origin).host === host;
      } catch {
        ok = false;
      }
    } else {
      ok = c.req.header("sec-fetch-site") === "same-origin";
    }
    if (!ok) return c.json({ error: "cross-site request refused (Origin does not match this host)" }, 403);
    await next();
  };
}

/** State-changing requests need the operator role; a viewer gets 403 even calling the API directly. */
export function operatorForWrites(onRefused?: (c: Parameters<MiddlewareHandler<Env>>[0]) => Promise<void>): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (SAFE.has(c.req.method) || c.get("actor").role === "operator") return next();
    await onRefused?.(c);
    return c.json({ error: "your role (viewer) is read-only" }, 403);
  };
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** The form's CSRF token must be the session's (double submit; basic auth has no session, and relies on sameOrigin). */
export function formTokenMatches(expected: string | undefined, given: unknown): boolean {
  if (expected === undefined) return true;
  return typeof given === "string" && timingSafeEqual(digest(given), digest(expected));
}
