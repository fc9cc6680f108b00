import type ipaddr from "ipaddr.js";
import { type AddressMatcher, parseAddress } from "./address-range.js";

export interface ClientAddress {
  /** The address the allowlist is checked against; undefined when it could not be parsed. */
  address: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
  /** Printable form for logs. */
  text: string;
}

/**
 * Who sent the request. `X-Forwarded-For` is believed only when the TCP peer is a trusted
 * proxy; then the list is walked from the right (each proxy appends the address it saw) and
 * the first hop that is not itself a trusted proxy is the client. Anything left of that hop
 * was written by the client and is ignored. An unparsable hop ends the walk as the client:
 * it matches no allowlist, so a mangled header fails closed.
 */
export function resolveClientAddress(peer: string | undefined, forwardedFor: string | undefined, trusted: AddressMatcher): ClientAddress {
  const peerAddr = peer ? parseAddress(peer) : undefined;
  if (!peerAddr || !forwardedFor || !trusted.matches(peerAddr)) {
    return { address: peerAddr, text: peerAddr?.toString() ?? String(peer) };
  }
  const hops = forwardedFor.split(",");
  let last: ipaddr.IPv4 | ipaddr.IPv6 = peerAddr;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop === "") continue;
    const addr = parseAddress(hop);
    if (!addr) return { address: undefined, text: `unparsable forwarded hop` };
    if (!trusted.matches(addr)) return { address: addr, text: addr.toString() };
    last = addr;
  }
  // Every hop is a trusted proxy: the left-most one is as close to the client as we can get.
  return { address: last, text: last.toString() };
}
