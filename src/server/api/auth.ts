import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { AuthVariables } from "../auth/identity.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** An admin API caller: its name (recorded in the audit log) and its secret. */
export interface NamedToken {
  name: string;
  token: string;
}

/** The single legacy ADMIN_API_TOKEN's caller name. */
export const DEFAULT_TOKEN_NAME = "default";

/**
 * Bearer-token check for the admin API. Hono's bearerAuth answers 400 to a malformed header;
 * here every missing, malformed or wrong token is a 401, as the API promises. Compared as
 * SHA-256 digests in constant time against every token (no early exit), so neither content,
 * length nor which token matched leaks. The matching token's name becomes the actor.
 */
export function adminAuth(tokens: readonly NamedToken[]): MiddlewareHandler<{ Variables: AuthVariables }> {
  const expected = tokens.map((t) => ({ name: t.name, digest: digest(t.token) }));
  return async (c, next) => {
    if (expected.length === 0) return c.json({ error: "admin API disabled: neither ADMIN_API_TOKEN nor ADMIN_API_TOKENS is set" }, 503);
    const match = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "");
    let name: string | undefined;
    if (match) {
      const given = digest(match[1]!);
      for (const e of expected) if (timingSafeEqual(given, e.digest) && name === undefined) name = e.name;
    }
    if (name === undefined) {
      return c.json({ error: "missing or wrong bearer token" }, 401, { "www-authenticate": 'Bearer realm="hookrail-admin"' });
    }
    c.set("actor", { name, kind: "token" });
    await next();
  };
}
