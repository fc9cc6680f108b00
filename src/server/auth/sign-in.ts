import type { Context } from "hono";
import type { AuditLog } from "../audit.js";
import { asGroups, mapRole } from "./identity.js";
import { messagePage } from "./pages.js";
import type { Sessions } from "./session.js";

export interface SignInDeps {
  sessions: Sessions;
  audit: AuditLog;
  ip: (c: Context) => string | undefined;
}

/**
 * The end of every SSO sign-in once the IdP's answer is verified: map the user's groups to a
 * role, refuse (403, audited) a user with none, else open the session, audit it and redirect.
 */
export async function completeSignIn(
  c: Context,
  deps: SignInDeps,
  who: { name: string; kind: "oidc" | "saml"; groups: unknown },
  roles: { viewer: readonly string[]; operator: readonly string[] },
  redirect: { to: string; status: 302 | 303 },
): Promise<Response> {
  const { name, kind } = who;
  const role = mapRole(asGroups(who.groups), roles);
  if (!role) {
    await deps.audit.record({ actor: { name, kind }, action: "session.login", ip: deps.ip(c), result: "refused", detail: { reason: "no hookrail role" } });
    return c.html(messagePage("No access", `You are signed in as ${name}, but none of your groups has a hookrail role.`), 403);
  }
  await deps.sessions.create(c, { name, kind, role });
  await deps.audit.record({ actor: { name, kind, role }, action: "session.login", ip: deps.ip(c), result: "ok" });
  return c.redirect(redirect.to, redirect.status);
}
