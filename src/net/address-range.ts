import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

type Addr = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Addr, number];

/**
 * Parse one address the way the network gave it to us. `node:net` decides validity because
 * ipaddr.js alone also takes legacy forms like "127.1" or "0x7f.0.0.1" that no proxy
 * writes and that would widen what a spoofed header can express. IPv4-mapped IPv6
 * (`::ffff:203.0.113.7`, what a dual-stack socket reports for an IPv4 peer) becomes IPv4.
 */
export function parseAddress(text: string): Addr | undefined {
  const bare = text.trim().replace(/^\[(.*)\]$/, "$1");
  const kind = isIP(bare.replace(/%.*$/, ""));
  if (kind === 0) return undefined;
  const addr = ipaddr.parse(bare.replace(/%.*$/, ""));
  return addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
}

/** A CIDR ("203.0.113.0/24", "2001:db8::/32") or a single address; undefined when invalid. */
export function parseRange(text: string): Range | undefined {
  const t = text.trim();
  if (!t.includes("/")) {
    const addr = parseAddress(t);
    return addr ? [addr, addr.kind() === "ipv4" ? 32 : 128] : undefined;
  }
  const [base, bits] = t.split("/", 2) as [string, string];
  if (!/^\d{1,3}$/.test(bits)) return undefined;
  const raw = base.trim();
  if (isIP(raw) === 0) return undefined;
  const addr = ipaddr.parse(raw);
  const prefix = Number(bits);
  if (addr.kind() === "ipv4") return prefix <= 32 ? [addr, prefix] : undefined;
  if (prefix > 128) return undefined;
  const v6 = addr as ipaddr.IPv6;
  // "::ffff:203.0.113.0/120" names IPv4 space; peers are normalised to IPv4, so is the range.
  if (v6.isIPv4MappedAddress() && prefix >= 96) return [v6.toIPv4Address(), prefix - 96];
  return [addr, prefix];
}

/** Matches addresses against a list of ranges; IPv4 ranges never match IPv6 addresses and vice versa. */
export class AddressMatcher {
  private readonly v4: Range[];
  private readonly v6: Range[];

  constructor(readonly ranges: readonly Range[]) {
    this.v4 = ranges.filter(([a]) => a.kind() === "ipv4");
    this.v6 = ranges.filter(([a]) => a.kind() === "ipv6");
  }

  /** Throws listing every entry that is not a CIDR or address (config validation reports it first). */
  static fromList(entries: readonly string[]): AddressMatcher {
    const bad = entries.filter((e) => parseRange(e) === undefined);
    if (bad.length) throw new Error(`not an IP address or CIDR: ${bad.join(", ")}`);
    return new AddressMatcher(entries.map((e) => parseRange(e)!));
  }

  get size(): number {
    return this.ranges.length;
  }

  matches(addr: Addr | undefined): boolean {
    if (!addr) return false;
    const list = addr.kind() === "ipv4" ? this.v4 : this.v6;
    for (const range of list) if (addr.match(range)) return true;
    return false;
  }
}
