import { Gauge, type Registry } from "prom-client";
import { metricsOnce } from "../metrics.js";

/** Signer health and stuck transactions, set by the chain monitor on every pass. */
export interface ChainMetrics {
  /** A Prometheus sample is a float64: fine for an alert threshold, never used as money. */
  balance: Gauge<"address">;
  pending: Gauge<"address">;
  stuck: Gauge;
  minBalance: Gauge;
}

export const chainMetrics = (registry: Registry, minBalanceWei: bigint): ChainMetrics => {
  const m = metricsOnce(registry, "chain", (r) => ({
    balance: new Gauge({ name: "hookrail_signer_balance_wei", help: "Native balance of each signer, in wei", labelNames: ["address"], registers: [r] }),
    pending: new Gauge({
      name: "hookrail_signer_pending_transactions",
      help: "Signed transactions of each signer not yet mined",
      labelNames: ["address"],
      registers: [r],
    }),
    stuck: new Gauge({
      name: "hookrail_chain_stuck_transactions",
      help: "Transactions not mined whose fee already is at CHAIN_MAX_FEE_PER_GAS",
      registers: [r],
    }),
    minBalance: new Gauge({
      name: "hookrail_signer_min_balance_wei",
      help: "SIGNER_MIN_BALANCE_WEI: a signer balance under it fires HookrailSignerBalanceLow",
      registers: [r],
    }),
  }));
  m.minBalance.set(Number(minBalanceWei));
  m.stuck.set(0);
  return m;
};
