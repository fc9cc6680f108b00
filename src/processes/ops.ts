import type { Context } from "hono";
import { ssoKind } from "../config/sso.js";
import { AddressMatcher } from "../net/address-range.js";
import { AuditLog } from "../server/audit.js";
import { DEFAULT_TOKEN_NAME, type NamedToken } from "../server/api/auth.js";
import type { OpsAuth } from "../server/auth/guard.js";
import { clientIp } from "../server/auth/identity.js";
import { oidcRoutes } from "../server/auth/oidc.js";
import { samlRoutes } from "../server/auth/saml.js";
import { Sessions } from "../server/auth/session.js";
import type { OpsDeps } from "../server/ops.js";
import type { Clients } from "./clients.js";
import { QUEUE_NAMES } from "./queue-modules.js";

/** The admin API's callers: every ADMIN_API_TOKENS entry, and ADMIN_API_TOKEN as "default". */
export function adminTokens(c: Clients): NamedToken[] {
  const legacy = c.config.ADMIN_API_TOKEN ? [{ name: DEFAULT_TOKEN_NAME, token: c.config.ADMIN_API_TOKEN }] : [];
  return [...legacy, ...c.config.ADMIN_API_TOKENS];
}

export interface OpsWiring {
  audit: AuditLog;
  onOrderAccepted: (ref: string) => Promise<void>;
  ip: (c: Context) => string | undefined;
  /** Undefined when no login is configured: the ops surface is off. */
  ops?: OpsDeps;
}

/**
 * The ops surface from config: SSO (OIDC or SAML, sessions in Redis) or basic auth, never both
 * (config refuses). `dev` serves session cookies without Secure, for plain-http localhost.
 */
export function opsWiring(c: Clients, opts: { boardPassword?: string; dev?: boolean; onOrderAccepted: (ref: string) => Promise<void> }): OpsWiring {
  const cfg = c.config;
  const trusted = AddressMatcher.fromList(cfg.TRUSTED_PROXIES);
  const ip = (ctx: Context) => clientIp(ctx, trusted);
  const audit = new AuditLog(c.dbh.db, c.log);
  const roles = { viewer: cfg.SSO_VIEWER_ROLES, operator: cfg.SSO_OPERATOR_ROLES };
  const base = { queues: c.queues, queueNames: QUEUE_NAMES, audit, ip, db: c.dbh.db, onOrderAccepted: opts.onOrderAccepted };
  const kind = ssoKind(cfg);
  if (kind) {
    const sessions = new Sessions({ redis: c.redis, prefix: cfg.QUEUE_PREFIX, secret: cfg.SESSION_SECRET!, ttlMs: cfg.SESSION_TTL, secure: !opts.dev });
    const auth: OpsAuth = { kind: "sso", sessions };
    const login =
      kind === "oidc"
        ? oidcRoutes({
            settings: {
              issuerUrl: cfg.OIDC_ISSUER_URL!,
              clientId: cfg.OIDC_CLIENT_ID!,
              clientSecret: cfg.OIDC_CLIENT_SECRET!,
              redirectUrl: cfg.OIDC_REDIRECT_URL!,
              scopes: cfg.OIDC_SCOPES,
              rolesClaim: cfg.OIDC_ROLES_CLAIM,
              roles,
            },
            sessions,
            audit,
            log: c.log,
            ip,
          })
        : samlRoutes({
            settings: {
              entryPoint: cfg.SAML_ENTRY_POINT!,
              idpCert: cfg.SAML_IDP_CERT!,
              spEntityId: cfg.SAML_SP_ENTITY_ID!,
              callbackUrl: cfg.SAML_CALLBACK_URL!,
              idpIssuer: cfg.SAML_IDP_ISSUER,
              rolesAttribute: cfg.SAML_ROLES_ATTRIBUTE,
              roles,
            },
            sessions,
            audit,
            log: c.log,
            redis: c.redis,
            prefix: cfg.QUEUE_PREFIX,
            ip,
          });
    return { audit, ip, onOrderAccepted: opts.onOrderAccepted, ops: { ...base, auth, login } };
  }
  const password = opts.boardPassword ?? cfg.BOARD_PASSWORD;
  if (!password) {
    c.log.warn("neither BOARD_PASSWORD nor single sign-on (OIDC_*/SAML_*) is set: the dashboard at /admin/queues is disabled");
    return { audit, ip, onOrderAccepted: opts.onOrderAccepted };
  }
  return { audit, ip, onOrderAccepted: opts.onOrderAccepted, ops: { ...base, auth: { kind: "basic", username: cfg.BOARD_USERNAME, password } } };
}
