import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import type { AddressMatcher } from "../../net/address-range.js";
import { resolveClientAddress } from "../../net/client-address.js";

/** What a signed-in person may do on the ops surface. */
export type Role = "viewer" | "operator";

/** Who is calling: a person (SSO or basic auth) or a machine (named admin API token). */
export interface Actor {
  /** E-mail or subject for people, the token's name for machines. */
  name: string;
  kind: "oidc" | "saml" | "basic" | "token";
  role?: Role;
}

/** Hono context variables the auth middleware sets. */
export interface AuthVariables {
  actor: Actor;
  /** The session's CSRF token (SSO sessions only), for forms. */
  csrf?: string;
  /** Facts a handler adds to its audit entry (e.g. the reason an operator gave). */
  auditDetail?: Record<string, unknown>;
}

/**
 * The role a user's IdP groups map to: operator wins over viewer; none is undefined (403).
 * Group names compare exactly, as IdPs treat them.
 */
export function mapRole(groups: readonly string[], mapping: { viewer: readonly string[]; operator: readonly string[] }): Role | undefined {
  if (groups.some((g) => mapping.operator.includes(g))) return "operator";
  if (groups.some((g) => mapping.viewer.includes(g))) return "viewer";
  return undefined;
}

/** A claim or attribute as a list of strings: IdPs send one group as a string, several as an array. */
export function asGroups(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** The caller's address, believing X-Forwarded-For only from trusted proxies (as the webhook receiver does). */
export function clientIp(c: Context, trusted: AddressMatcher): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const peer = incoming?.socket?.remoteAddress;
  if (!peer) return undefined;
  return resolveClientAddress(peer, c.req.header("x-forwarded-for"), trusted).text;
}
