import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Bearer-token check for the admin API. Hono's bearerAuth answers 400 to a malformed header;
 * here every missing, malformed or wrong token is a 401, as the API promises. Compared as
 * SHA-256 digests in constant time, so neither content nor length leaks.
 */
export function adminAuth(token: string | undefined): MiddlewareHandler {
  const expected = token ? digest(token) : undefined;
  return async (c, next) => {
    if (!expected) return c.json({ error: "admin API disabled: ADMIN_API_TOKEN is not set" }, 503);
    const match = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "");
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      return c.json({ error: "missing or wrong bearer token" }, 401, { "www-authenticate": 'Bearer realm="hookrail-admin"' });
    }
    await next();
  };
}
