// Dev-only: for `npm run dev`, the simulator and tests; no production process loads src/dev (scripts/check-layers.mjs).
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { CompactSign } from "jose";

/** An RSA key pair as a Fireblocks workspace has one for its webhooks (the public half is published). */
export function rsaKeyPair(): { privateKey: KeyObject; publicPem: string; privatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKey,
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** Fireblocks webhooks v1: `Fireblocks-Signature` is base64 RSA-SHA512 over the raw body. */
export function fireblocksV1Headers(privateKey: KeyObject, body: string): Record<string, string> {
  return { "content-type": "application/json", "fireblocks-signature": sign("sha512", Buffer.from(body), privateKey).toString("base64") };
}

/** Fireblocks webhooks v2: a detached RS512 JWS over the body, `<header>..<signature>`, the key named by `kid` in its JWKS. */
export async function fireblocksV2Headers(privateKey: KeyObject, kid: string, body: string): Promise<Record<string, string>> {
  const jws = await new CompactSign(Buffer.from(body))
    .setProtectedHeader({ alg: "RS512", kid })
    .sign(createPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" })));
  const [header, , signature] = jws.split(".");
  return { "content-type": "application/json", "fireblocks-webhook-signature": `${header}..${signature}` };
}
