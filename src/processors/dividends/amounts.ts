/** Token base units per whole token: amounts per token are quoted per 10^18 base units. */
export const PER_TOKEN = 10n ** 18n;

export interface HolderBalance {
  holder: string;
  balance: bigint;
}

export interface PaymentLine {
  holder: string;
  balance: bigint;
  amount: bigint;
}

export interface DistributionPlan {
  lines: PaymentLine[];
  totalDue: bigint;
  /** What rounding down left undistributed: exact total minus what is paid, in payout base units × 10^18. */
  remainderScaled: bigint;
}

/**
 * Each holder gets `balance * amountPerToken / 10^18`, rounded down, all in bigint. Holders
 * whose amount rounds to zero get no line. The remainder is kept scaled (× 10^18) so it is
 * exact; divide by 10^18 for payout base units.
 */
export function planDistribution(balances: HolderBalance[], amountPerToken: bigint): DistributionPlan {
  if (amountPerToken < 0n) throw new RangeError("amountPerToken must not be negative");
  const lines: PaymentLine[] = [];
  let totalDue = 0n;
  let exactScaled = 0n;
  for (const { holder, balance } of balances) {
    if (balance <= 0n) continue;
    const scaled = balance * amountPerToken;
    exactScaled += scaled;
    const amount = scaled / PER_TOKEN;
    if (amount === 0n) continue;
    lines.push({ holder, balance, amount });
    totalDue += amount;
  }
  return { lines, totalDue, remainderScaled: exactScaled - totalDue * PER_TOKEN };
}
