import { type CacheProvider, SAML, ValidateInResponseTo } from "@node-saml/node-saml";
import type { Context } from "hono";
import { Hono } from "hono";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "../../log.js";
import type { AuditLog } from "../audit.js";
import { messagePage, safeReturnTo } from "./pages.js";
import type { Sessions } from "./session.js";
import { completeSignIn } from "./sign-in.js";

export interface SamlSettings {
  entryPoint: string;
  idpCert: string;
  spEntityId: string;
  callbackUrl: string;
  idpIssuer?: string;
  rolesAttribute: string;
  roles: { viewer: readonly string[]; operator: readonly string[] };
}

export interface SamlDeps {
  settings: SamlSettings;
  sessions: Sessions;
  audit: AuditLog;
  log: Logger;
  redis: Redis | Cluster;
  prefix: string;
  ip: (c: Context) => string | undefined;
}

const REQUEST_TTL_MS = 10 * 60_000;

/**
 * Outstanding AuthnRequest ids in Redis (node-saml's default cache is per process, which a
 * WEB_CONCURRENCY cluster or a second dyno would not share). A response must answer one of
 * them, and node-saml removes the id once it is used, so a captured response cannot be replayed.
 */
function redisRequestCache(redis: Redis | Cluster, prefix: string): CacheProvider {
  const key = (k: string) => `${prefix}:saml-request:${k}`;
  return {
    saveAsync: async (k, value) => {
      const ok = await redis.set(key(k), value, "PX", REQUEST_TTL_MS, "NX");
      return ok ? { value, createdAt: Date.now() } : null;
    },
    getAsync: (k) => redis.get(key(k)),
    removeAsync: async (k) => (k ? redis.getdel(key(k)) : null),
  };
}

/** A PEM certificate or its bare base64 body, as node-saml wants it (the body). */
const certBody = (cert: string) =>
  cert
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")
    .replace(/\\n/g, "")
    .replace(/\s+/g, "");

/**
 * SAML 2.0 login with @node-saml/node-saml: SP-initiated (HTTP-Redirect AuthnRequest, HTTP-POST
 * response to /admin/saml/acs). Assertions must be signed with the configured IdP certificate
 * and be addressed to our entity id; the role comes from one attribute, mapped like OIDC's.
 */
export function samlRoutes(deps: SamlDeps): Hono {
  const s = deps.settings;
  const saml = new SAML({
    entryPoint: s.entryPoint,
    idpCert: certBody(s.idpCert),
    issuer: s.spEntityId,
    audience: s.spEntityId,
    callbackUrl: s.callbackUrl,
    ...(s.idpIssuer ? { idpIssuer: s.idpIssuer } : {}),
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    cacheProvider: redisRequestCache(deps.redis, deps.prefix),
    acceptedClockSkewMs: 60_000,
  });
  const app = new Hono();

  app.get("/login", async (c) => {
    const url = await saml.getAuthorizeUrlAsync(safeReturnTo(c.req.query("returnTo")), undefined, {});
    return c.redirect(url, 302);
  });

  app.get("/saml/metadata", (c) => c.body(saml.generateServiceProviderMetadata(null, null), 200, { "content-type": "application/samlmetadata+xml" }));

  app.post("/saml/acs", async (c) => {
    const form = await c.req.parseBody();
    if (typeof form.SAMLResponse !== "string") return c.html(messagePage("Sign-in failed", "No SAMLResponse in the form."), 400);
    let profile: Record<string, unknown> | null;
    try {
      profile = (await saml.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse })).profile as Record<string, unknown> | null;
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, "SAML sign-in refused");
      await deps.audit.record({
        actor: { name: "(unverified)", kind: "saml" },
        action: "session.login",
        ip: deps.ip(c),
        result: "refused",
        detail: { reason: (err as Error).message },
      });
      return c.html(
        messagePage("Sign-in failed", 'The identity provider\'s assertion could not be verified. <a href="/admin/login">Try again</a>.', true),
        401,
      );
    }
    if (!profile) return c.html(messagePage("Sign-in failed", "No assertion."), 401);
    const attrs = (profile.attributes as Record<string, unknown> | undefined) ?? profile;
    const email = profile.email ?? profile.mail ?? attrs.email;
    const name = typeof email === "string" ? email : String(profile.nameID);
    return completeSignIn(c, deps, { name, kind: "saml", groups: attrs[s.rolesAttribute] }, s.roles, {
      to: safeReturnTo(typeof form.RelayState === "string" ? form.RelayState : undefined),
      status: 303,
    });
  });

  return app;
}
