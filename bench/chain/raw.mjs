// The "raw viem" baseline of bench/chain: one key sends a list of calls with every nonce in
// flight at once (nonces assigned in memory, all signed and sent, then one wait for the last
// nonce to mine). No database, no queue, no monitor: what the chain alone allows.
import { initialBid, readMarketFees } from "../../dist/src/chain/fees.js";
import { pool, sleep } from "./hookrail.mjs";

/**
 * Send `calls` ({ to, data, gas }) from `clients.account`, all nonces in flight; resolves when
 * every one is mined, with the time, the blocks it took and the gas the receipts used.
 */
export async function sendAllInFlight(clients, calls, { chainId = 31337, timeoutMs = 600_000 } = {}) {
  const { publicClient, account } = clients;
  const fees = initialBid(await readMarketFees(publicClient), 10n ** 12n);
  const first = await publicClient.getTransactionCount({ address: account.address, blockTag: "pending" });
  const startBlock = await publicClient.getBlockNumber({ cacheTime: 0 });
  const start = performance.now();
  const hashes = new Array(calls.length);
  await pool(
    calls.map((_, i) => i),
    50,
    async (i) => {
      const { to, data, gas } = calls[i];
      const raw = await account.signTransaction({ type: "eip1559", chainId, to, data, gas, nonce: first + i, ...fees });
      hashes[i] = await publicClient.sendRawTransaction({ serializedTransaction: raw });
    },
  );
  const sentSeconds = (performance.now() - start) / 1000;
  for (;;) {
    const mined = await publicClient.getTransactionCount({ address: account.address, blockTag: "latest" });
    if (mined >= first + calls.length) break;
    if (performance.now() - start > timeoutMs) throw new Error(`raw sends: ${mined - first}/${calls.length} mined in ${timeoutMs} ms`);
    await sleep(50);
  }
  const seconds = (performance.now() - start) / 1000;
  const receipts = new Array(calls.length);
  await pool(
    hashes.map((_, i) => i),
    20,
    async (i) => {
      receipts[i] = await publicClient.getTransactionReceipt({ hash: hashes[i] });
    },
  );
  const reverted = receipts.filter((r) => r.status !== "success").length;
  if (reverted) throw new Error(`raw sends: ${reverted} reverted`);
  const lastBlock = Math.max(...receipts.map((r) => Number(r.blockNumber)));
  const gasUsed = receipts.reduce((s, r) => s + r.gasUsed, 0n);
  return {
    seconds,
    sentSeconds,
    blocks: lastBlock - Number(startBlock),
    transactions: calls.length,
    gasUsed,
    blocksUsed: new Set(receipts.map((r) => r.blockNumber)).size,
  };
}
