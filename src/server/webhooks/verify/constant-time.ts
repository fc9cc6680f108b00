import { timingSafeEqual } from "node:crypto";

/**
 * Constant-time equality for digests. Lengths are compared first: a digest's length is fixed
 * by its algorithm and public, so leaking it gives nothing away.
 */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
