import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { SignedXml } from "xml-crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../src/server/auth/session.js";
import { startStack, type TestStack } from "./helpers/stack.js";

// SAML 2.0 sign-in against a test IdP made here: its key and certificate come from openssl,
// its responses are signed with xml-crypto (the library node-saml verifies with).

const IDP_ISSUER = "https://idp.example.test/metadata";
const ENTRY_POINT = "https://idp.example.test/sso";
const SP_ENTITY_ID = "urn:hookrail:test-sp";
const ACS = "https://hookrail.example.test/admin/saml/acs";

function keyPair(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", `/CN=${name}`, "-days", "2"], {
    stdio: "ignore",
  });
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
}

const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

function response(inResponseTo: string, user: { email: string; groups: string[] }): string {
  const attrs = user.groups.map((g) => `<saml:AttributeValue>${g}</saml:AttributeValue>`).join("");
  return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomUUID()}" Version="2.0" IssueInstant="${iso(0)}" Destination="${ACS}" InResponseTo="${inResponseTo}">
<saml:Issuer>${IDP_ISSUER}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
<saml:Assertion ID="_${randomUUID()}" Version="2.0" IssueInstant="${iso(0)}">
<saml:Issuer>${IDP_ISSUER}</saml:Issuer>
<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${user.email}</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(300_000)}" Recipient="${ACS}" InResponseTo="${inResponseTo}"/></saml:SubjectConfirmation></saml:Subject>
<saml:Conditions NotBefore="${iso(-60_000)}" NotOnOrAfter="${iso(300_000)}"><saml:AudienceRestriction><saml:Audience>${SP_ENTITY_ID}</saml:Audience></saml:AudienceRestriction></saml:Conditions>
<saml:AuthnStatement AuthnInstant="${iso(0)}" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
<saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>${user.email}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="groups">${attrs}</saml:Attribute></saml:AttributeStatement>
</saml:Assertion></samlp:Response>`;
}

function signAssertion(xml: string, key: string): string {
  const sig = new SignedXml({
    privateKey: key,
    signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
  });
  sig.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    transforms: ["http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/2001/10/xml-exc-c14n#"],
    digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
  });
  sig.computeSignature(xml, { location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: "after" } });
  return sig.getSignedXml();
}

describe("SAML 2.0 sign-in", () => {
  let dir: string;
  let idp: { key: string; cert: string };
  let stranger: { key: string; cert: string };
  let stack: TestStack;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hookrail-saml-"));
    idp = keyPair(dir, "test-idp");
    stranger = keyPair(dir, "someone-else");
    stack = await startStack("saml", {
      env: {
        SAML_ENTRY_POINT: ENTRY_POINT,
        SAML_IDP_CERT: idp.cert,
        SAML_SP_ENTITY_ID: SP_ENTITY_ID,
        SAML_CALLBACK_URL: ACS,
        SAML_IDP_ISSUER: IDP_ISSUER,
        SSO_VIEWER_ROLES: "ops-viewers",
        SSO_OPERATOR_ROLES: "ops-operators",
        SESSION_SECRET: "another-test-session-secret-32-chars-or-more",
      },
      web: true,
    });
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Start a login as the browser would; the AuthnRequest's id is what the response must answer. */
  async function startLogin(returnTo = "/admin/dead-letters"): Promise<string> {
    const res = await fetch(`${stack.base}/admin/login?returnTo=${encodeURIComponent(returnTo)}`, { redirect: "manual" });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(location.origin + location.pathname).toBe(ENTRY_POINT);
    expect(location.searchParams.get("RelayState")).toBe(returnTo);
    const request = inflateRawSync(Buffer.from(location.searchParams.get("SAMLRequest")!, "base64")).toString("utf8");
    expect(request).toContain(`AssertionConsumerServiceURL="${ACS}"`);
    return /\sID="([^"]+)"/.exec(request)![1]!;
  }

  const post = (xml: string, relayState = "/admin/dead-letters") =>
    fetch(`${stack.base}/admin/saml/acs`, {
      method: "POST",
      redirect: "manual",
      body: new URLSearchParams({ SAMLResponse: Buffer.from(xml).toString("base64"), RelayState: relayState }),
    });

  const sessionFrom = (res: Response) => /hookrail_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1];

  it("serves SP metadata naming our entity id and assertion consumer service", async () => {
    const res = await fetch(`${stack.base}/admin/saml/metadata`);
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain(`entityID="${SP_ENTITY_ID}"`);
    expect(xml).toContain(`Location="${ACS}"`);
    expect(xml).toContain('WantAssertionsSigned="true"');
  });

  it("a signed assertion logs in with the role from its groups attribute; the same response cannot be replayed", async () => {
    const id = await startLogin();
    const signed = signAssertion(response(id, { email: "sam@example.com", groups: ["ops-operators"] }), idp.key);
    const res = await post(signed);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/dead-letters");
    const cookie = sessionFrom(res);
    expect(cookie).toBeDefined();
    expect(res.headers.get("set-cookie")).toMatch(/HttpOnly/i);
    expect(res.headers.get("set-cookie")).toMatch(/Secure/i);
    expect(res.headers.get("set-cookie")).toMatch(/SameSite=Lax/i);
    const page = await fetch(`${stack.base}/admin/dead-letters`, { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("sam@example.com");
    expect(html).toContain("(operator)");

    expect((await post(signed)).status).toBe(401);
    const rows = await stack.c.dbh.db.selectFrom("audit_events").selectAll().where("action", "=", "session.login").execute();
    expect(rows.some((r) => r.actor === "sam@example.com" && r.actor_kind === "saml" && r.role === "operator" && r.result === "ok")).toBe(true);
  });

  it("refuses a tampered, an unsigned, and a foreign-signed assertion; a user without a role gets 403", async () => {
    // Tampered after signing: a viewer made operator.
    const id1 = await startLogin();
    const tampered = signAssertion(response(id1, { email: "vic@example.com", groups: ["ops-viewers"] }), idp.key).replace(
      "<saml:AttributeValue>ops-viewers</saml:AttributeValue>",
      "<saml:AttributeValue>ops-operators</saml:AttributeValue>",
    );
    expect(tampered).toContain("ops-operators");
    const t = await post(tampered);
    expect(t.status).toBe(401);
    expect(sessionFrom(t)).toBeUndefined();

    const id2 = await startLogin();
    expect((await post(response(id2, { email: "vic@example.com", groups: ["ops-operators"] }))).status).toBe(401);

    const id3 = await startLogin();
    expect((await post(signAssertion(response(id3, { email: "vic@example.com", groups: ["ops-operators"] }), stranger.key))).status).toBe(401);

    // An answer to a request we never made.
    expect((await post(signAssertion(response("_never-asked", { email: "vic@example.com", groups: ["ops-operators"] }), idp.key))).status).toBe(401);

    const id4 = await startLogin();
    const noRole = await post(signAssertion(response(id4, { email: "nat@example.com", groups: ["sales"] }), idp.key));
    expect(noRole.status).toBe(403);
    expect(sessionFrom(noRole)).toBeUndefined();
  });
});
