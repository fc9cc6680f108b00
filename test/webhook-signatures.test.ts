import fc from "fast-check";
import { parse as losslessParse } from "lossless-json";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.js";
import { AddressMatcher, parseAddress } from "../src/net/address-range.js";
import { resolveClientAddress } from "../src/net/client-address.js";
import { decimalFromNumberText, exactDecimal } from "../src/validation/decimal.js";
import { JsonNumberText } from "../src/validation/json-number.js";
import { parseExactJson } from "../src/server/webhooks/exact-json.js";
import { eventJobId } from "../src/queues/job-id.js";
import type { SignatureError } from "../src/server/webhooks/verify/errors.js";
import { signStandardWebhook, StandardWebhooksVerifier } from "../src/server/webhooks/verify/standard-webhooks.js";

describe("address ranges", () => {
  it("match IPv4 and IPv6 CIDRs, IPv4-mapped IPv6 peers against IPv4 ranges, and mapped ranges", () => {
    const m = AddressMatcher.fromList(["203.0.113.0/24", "2001:db8::/32", "::ffff:192.0.2.0/120", "198.51.100.7"]);
    expect(m.matches(parseAddress("203.0.113.200"))).toBe(true);
    expect(m.matches(parseAddress("::ffff:203.0.113.200"))).toBe(true);
    expect(m.matches(parseAddress("203.0.114.1"))).toBe(false);
    expect(m.matches(parseAddress("2001:db8:1::1"))).toBe(true);
    expect(m.matches(parseAddress("2001:db9::1"))).toBe(false);
    expect(m.matches(parseAddress("192.0.2.77"))).toBe(true);
    expect(m.matches(parseAddress("198.51.100.7"))).toBe(true);
    expect(m.matches(parseAddress("198.51.100.8"))).toBe(false);
    expect(m.matches(parseAddress("127.1"))).toBe(false); // legacy shorthand is not an address here
    expect(m.matches(undefined)).toBe(false);
    expect(() => AddressMatcher.fromList(["10.0.0.0/33", "nope"])).toThrow("10.0.0.0/33, nope");
  });

  it("trusts X-Forwarded-For only from trusted proxies and takes the right-most untrusted hop", () => {
    const trusted = AddressMatcher.fromList(["10.0.0.0/8"]);
    const r = (peer: string, xff?: string) => resolveClientAddress(peer, xff, trusted).text;
    expect(r("198.51.100.1", "203.0.113.5")).toBe("198.51.100.1");
    expect(r("10.0.0.2", "203.0.113.5")).toBe("203.0.113.5");
    expect(r("::ffff:10.0.0.2", "1.2.3.4, 203.0.113.5, 10.9.9.9")).toBe("203.0.113.5");
    expect(r("10.0.0.2", "10.1.1.1, 10.2.2.2")).toBe("10.1.1.1");
    expect(resolveClientAddress("10.0.0.2", "203.0.113.5, garbage", trusted).address).toBeUndefined();
  });
});

describe("exact decimals", () => {
  it("reads the decimal a JSON number literal denotes, without float arithmetic", () => {
    expect(decimalFromNumberText("100")).toBe("100");
    expect(decimalFromNumberText("100.50")).toBe("100.50");
    expect(decimalFromNumberText("1.5e-3")).toBe("0.0015");
    expect(decimalFromNumberText("1.5E3")).toBe("1500");
    expect(decimalFromNumberText("-0.0")).toBe("0.0");
    expect(decimalFromNumberText("12345678901234567890.123456789")).toBe("12345678901234567890.123456789");
    expect(decimalFromNumberText("1e400")).toBeUndefined();
    const parsed = parseExactJson('{"a":0.1,"b":0.30000000000000001,"c":100,"d":1e2}') as Record<string, unknown>;
    expect(exactDecimal(parsed.a)).toBe("0.1");
    expect(exactDecimal(parsed.b)).toBe("0.30000000000000001");
    expect(exactDecimal(parsed.c)).toBe("100");
    expect(exactDecimal(parsed.d)).toBe("100");
    expect(JSON.stringify(parsed)).toBe('{"a":0.1,"b":0.3,"c":100,"d":100}');
    expect(exactDecimal("12.30")).toBe("12.30");
    expect(exactDecimal("1e3")).toBeUndefined();
    expect(exactDecimal("12,30")).toBeUndefined();
    expect(exactDecimal(true)).toBeUndefined();
  });

  it("refuses duplicate keys in a signed body", () => {
    expect(() => parseExactJson('{"amount":1,"amount":1000}')).toThrow(/Duplicate key/);
    expect(() => parseExactJson('{"a":{"b":"x:y","c":[{"k":1,"k":2}]}}')).toThrow(/Duplicate key 'k'/);
    expect(() => parseExactJson('{"a":"\\":","a":2}')).toThrow(/Duplicate key 'a'/);
  });

  it("reads any text as lossless-json alone did: the same values, number texts, duplicate-key and syntax errors", () => {
    const reference = (text: string): unknown => {
      try {
        return { value: losslessParse(text, null, (n) => (String(Number(n)) === n ? Number(n) : new JsonNumberText(n))) };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    const ours = (text: string): unknown => {
      try {
        return { value: parseExactJson(text) };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    const space = fc.constantFrom("", " ", "\n ");
    const number = fc.oneof(
      fc.constantFrom("100.50", "1e2", "-0", "0", "7", "-12", "0.30000000000000001", "12345678901234567890", "1.5E3", "-1.25e-7", "1250.75", "1e400"),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.integer().map(String),
    );
    // Few distinct keys, so duplicates are common; keys and strings with quotes, colons and escapes.
    const key = fc.oneof(fc.constantFrom("a", "b", "amount", "__proto__", 'x":"y', "k:\\"), fc.string({ maxLength: 4 }));
    const { value } = fc.letrec<{ value: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        number,
        fc.constantFrom("true", "false", "null"),
        fc.string({ maxLength: 6, unit: "binary" }).map((v) => JSON.stringify(v)),
        fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
        fc
          .array(fc.tuple(key, space, tie("value")), { maxLength: 5 })
          .map((members) => `{${members.map(([k, sp, v]) => `${JSON.stringify(k)}${sp}:${sp}${v}`).join(",")}}`),
      ),
    }));
    // Valid texts, and texts broken by one inserted or deleted character.
    const text = fc.oneof(
      value,
      fc.tuple(value, fc.nat(), fc.constantFrom(",", ":", '"', "}", "]", "\\", "-", "1", "e", " ")).map(([t, at, ch]) => {
        const i = at % (t.length + 1);
        return `${t.slice(0, i)}${ch}${t.slice(i)}`;
      }),
      fc.tuple(value, fc.nat()).map(([t, at]) => (t.length === 0 ? t : t.slice(0, at % t.length) + t.slice((at % t.length) + 1))),
    );
    fc.assert(
      fc.property(text, (t) => {
        expect(ours(t)).toStrictEqual(reference(t));
      }),
      { numRuns: 5_000 },
    );
  });
});

describe("job ids", () => {
  it("are BullMQ-safe and unambiguous", () => {
    expect(eventJobId("pay", ["BTX:1", "payment.completed"])).toBe("pay-BTX%3A1.payment%2Ecompleted");
    expect(eventJobId("pay", ["12345"])).toBe("pay-12345");
    expect(eventJobId("x", ["a.b", "c"])).not.toBe(eventJobId("x", ["a", "b.c"]));
    expect(eventJobId("x", ["é"])).toBe("x-%C3%A9");
  });
});

describe("Standard Webhooks verifier", () => {
  const secret = `whsec_${Buffer.from("0123456789abcdef0123").toString("base64")}`;
  const now = 1_700_000_000_000;
  const v = new StandardWebhooksVerifier([secret], { now: () => now });
  const headers =
    (sig: string, ts = now / 1000) =>
    (n: string) =>
      ({ "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": sig })[n];
  const reason = (fn: () => void) => {
    try {
      fn();
      return "ok";
    } catch (e) {
      return (e as SignatureError).reason;
    }
  };

  it("accepts a valid signature at the edges of the window and names each failure", () => {
    const body = Buffer.from('{"a":1}');
    expect(reason(() => v.verify(headers(signStandardWebhook(secret, "msg_1", now / 1000, body)), body))).toBe("ok");
    expect(reason(() => v.verify(headers(signStandardWebhook(secret, "msg_1", now / 1000 - 300, body), now / 1000 - 300), body))).toBe("ok");
    expect(reason(() => v.verify(headers(signStandardWebhook(secret, "msg_1", now / 1000 - 301, body), now / 1000 - 301), body))).toBe("stale_timestamp");
    expect(reason(() => v.verify(headers("v1a,abc"), body))).toBe("malformed_header");
    expect(reason(() => v.verify(headers("v1,AAAA"), body))).toBe("no_match");
    expect(reason(() => v.verify(() => undefined, body))).toBe("missing_header");
    expect(reason(() => new StandardWebhooksVerifier([], { now: () => now }).verify(headers("v1,AAAA"), body))).toBe("not_configured");
  });
});

describe("webhook configuration", () => {
  it("lists every bad value at once and never echoes secrets", () => {
    let message = "";
    try {
      loadConfig({
        PAYMENTS_WEBHOOK_SECRETS: "whsec_short!,topsecretvalue",
        TRUSTED_PROXIES: "10.0.0.0/8,banana",
        FIREBLOCKS_PUBLIC_KEYS: "not-a-key",
        WEBHOOK_MAX_BYTES: "12",
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("PAYMENTS_WEBHOOK_SECRETS: entry 1: expected whsec_");
    expect(message).toContain("PAYMENTS_WEBHOOK_SECRETS: entry 2");
    expect(message).toContain("TRUSTED_PROXIES: not an IP address or CIDR: banana");
    expect(message).toContain("FIREBLOCKS_PUBLIC_KEYS: key 1");
    expect(message).toContain("WEBHOOK_MAX_BYTES");
    expect(message).not.toContain("topsecretvalue");
  });

  it("defaults: 256 KiB limit, no allowlists, no keys", () => {
    const c = loadConfig({});
    expect(c.WEBHOOK_MAX_BYTES).toBe(262_144);
    expect(c.PAYMENTS_IP_ALLOWLIST).toEqual([]);
    expect(c.FIREBLOCKS_PUBLIC_KEYS).toEqual([]);
  });
});
