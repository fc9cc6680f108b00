import { z } from "zod";
import { csvList, optionalString, optionalUrl, stringWithDefault } from "./env.js";
import { duration } from "./kyc.js";

const TOKEN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** `name:token,...`: each admin API caller gets its own token, so its calls are attributable. */
const namedTokens = () =>
  csvList().transform((items, ctx) => {
    const tokens: { name: string; token: string }[] = [];
    for (const [i, item] of items.entries()) {
      const at = item.indexOf(":");
      const name = at > 0 ? item.slice(0, at) : "";
      const token = at > 0 ? item.slice(at + 1) : "";
      // The token itself is never echoed: only its position and name.
      if (!TOKEN_NAME.test(name)) ctx.addIssue({ code: "custom", message: `entry ${i + 1}: expected name:token with a name of letters, digits, . _ -` });
      else if (token.length < 16) ctx.addIssue({ code: "custom", message: `token "${name}": expected at least 16 characters` });
      else if (tokens.some((t) => t.name === name)) ctx.addIssue({ code: "custom", message: `token name "${name}" appears twice` });
      else tokens.push({ name, token });
    }
    return tokens;
  });

/** Single sign-on for the ops surface (board, dead-letter page), sessions, and the admin API's named tokens. */
export const ssoSchema = z.object({
  ADMIN_API_TOKENS: namedTokens(),
  /** OpenID Connect: the issuer whose /.well-known/openid-configuration is read on first login. */
  OIDC_ISSUER_URL: optionalUrl(["https", "http"], "https://login.example.com/realms/ops"),
  OIDC_CLIENT_ID: optionalString(),
  OIDC_CLIENT_SECRET: optionalString(),
  /** Registered at the IdP; must end in /admin/auth/callback. Its origin is the ops surface's public origin. */
  OIDC_REDIRECT_URL: optionalUrl(["https", "http"], "https://hookrail.example.com/admin/auth/callback"),
  OIDC_SCOPES: stringWithDefault("openid email profile"),
  /** The ID-token claim holding the user's groups or roles (a string or an array of strings). */
  OIDC_ROLES_CLAIM: stringWithDefault("groups"),
  /** SAML 2.0: the IdP's single sign-on URL (HTTP-Redirect binding). */
  SAML_ENTRY_POINT: optionalUrl(["https", "http"], "https://idp.example.com/sso/saml"),
  /** The IdP's signing certificate (PEM, or its base64 body); assertions must be signed with it. */
  SAML_IDP_CERT: optionalString(),
  /** Our entity id as registered at the IdP (also the expected audience). */
  SAML_SP_ENTITY_ID: optionalString(),
  /** The assertion consumer service URL registered at the IdP; must end in /admin/saml/acs. */
  SAML_CALLBACK_URL: optionalUrl(["https", "http"], "https://hookrail.example.com/admin/saml/acs"),
  /** If set, the Issuer the IdP's responses must carry. */
  SAML_IDP_ISSUER: optionalString(),
  SAML_ROLES_ATTRIBUTE: stringWithDefault("groups"),
  /** IdP groups/roles that map to hookrail's roles (operator wins when a user has both). */
  SSO_VIEWER_ROLES: csvList(),
  SSO_OPERATOR_ROLES: csvList(),
  /** Signs session cookies; at least 32 characters. Required with SSO. */
  SESSION_SECRET: optionalString().pipe(z.string().min(32, { error: "expected at least 32 characters" }).optional()),
  SESSION_TTL: duration("8h", 60_000, 7 * 86_400_000),
});

type SsoSettings = z.output<typeof ssoSchema> & { BOARD_PASSWORD?: string };

const OIDC_REQUIRED = ["OIDC_ISSUER_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_REDIRECT_URL"] as const;
const SAML_REQUIRED = ["SAML_ENTRY_POINT", "SAML_IDP_CERT", "SAML_SP_ENTITY_ID", "SAML_CALLBACK_URL"] as const;

/** Which single sign-on the settings turn on, if any. */
export function ssoKind(c: SsoSettings): "oidc" | "saml" | undefined {
  if (OIDC_REQUIRED.some((k) => c[k] !== undefined)) return "oidc";
  if (SAML_REQUIRED.some((k) => c[k] !== undefined)) return "saml";
  return undefined;
}

/** Problems no single field shows: half-configured SSO, two logins at once, no way to get a role. */
export function ssoConfigProblems(c: SsoSettings): string[] {
  const problems: string[] = [];
  const oidcSet = OIDC_REQUIRED.filter((k) => c[k] !== undefined);
  const samlSet = SAML_REQUIRED.filter((k) => c[k] !== undefined);
  if (oidcSet.length > 0 && samlSet.length > 0) problems.push(`${oidcSet[0]} and ${samlSet[0]}: OIDC and SAML cannot both be configured; pick one`);
  for (const [set, all] of [
    [oidcSet, OIDC_REQUIRED],
    [samlSet, SAML_REQUIRED],
  ] as const) {
    const missing = all.filter((k) => c[k] === undefined);
    if (set.length > 0 && missing.length > 0) problems.push(`${missing.join(", ")}: required when ${set.join(", ")} ${set.length === 1 ? "is" : "are"} set`);
  }
  const sso = oidcSet[0] ?? samlSet[0];
  if (sso) {
    if (c.BOARD_PASSWORD !== undefined) problems.push(`BOARD_PASSWORD and ${sso}: basic auth and single sign-on cannot both be on; unset one`);
    if (c.SESSION_SECRET === undefined) problems.push(`SESSION_SECRET: required with single sign-on (${sso} is set)`);
    if (c.SSO_VIEWER_ROLES.length === 0 && c.SSO_OPERATOR_ROLES.length === 0) {
      problems.push(`SSO_VIEWER_ROLES, SSO_OPERATOR_ROLES: set at least one with single sign-on, or nobody can log in`);
    }
  }
  if (oidcSet.length > 0 && c.OIDC_REDIRECT_URL && !c.OIDC_REDIRECT_URL.endsWith("/admin/auth/callback")) {
    problems.push("OIDC_REDIRECT_URL: expected a URL ending in /admin/auth/callback");
  }
  if (samlSet.length > 0 && c.SAML_CALLBACK_URL && !c.SAML_CALLBACK_URL.endsWith("/admin/saml/acs")) {
    problems.push("SAML_CALLBACK_URL: expected a URL ending in /admin/saml/acs");
  }
  return problems;
}
