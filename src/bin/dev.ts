import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS, startAnvil, type Anvil } from "../chain/anvil.js";
import { createChainClients } from "../chain/clients.js";
import { deployContracts, deployDvpRail, type Deployment, type DvpRailDeployment } from "../chain/deploy.js";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { loadProcessConfig } from "../processes/config.js";
import { migrateToLatest } from "../db/migrate.js";
import { redisAnswers, startRedisServer, type EmbeddedRedis } from "../dev/embedded-redis.js";
import { startComplyAdvantageStub, type ComplyAdvantageStub } from "../dev/stubs/complyadvantage.js";
import { startJumioStub, type JumioStub } from "../dev/stubs/jumio.js";
import { startOnfidoStub, type OnfidoStub } from "../dev/stubs/onfido.js";
import { startRegistrarStub, type RegistrarStub } from "../dev/stubs/registrar.js";
import { startSumsubStub, type SumsubStub } from "../dev/stubs/sumsub.js";
import { exitOnStartupError, onShutdown } from "../lifecycle/shutdown.js";
import { buildClients, closeClients } from "../processes/clients.js";
import { startWebSide } from "../processes/web.js";
import { startWorkerSide } from "../processes/worker.js";
import { QUEUE_MODULES } from "../processes/queue-modules.js";
import { registerSchedulers } from "../schedulers/register.js";
import { startRelaySide } from "../processes/relay.js";
import { EMULATOR_CREDENTIALS, startSqsEmulator, type SqsEmulator } from "../dev/sqs-emulator.js";
import { createSqsClient, relayQueueUrls } from "../relay/sqs-client.js";

// One process with web + worker (+ relay) and embedded defaults, for trying hookrail on a
// laptop. Embedded PGlite allows one process per data directory, hence one process.
let embedded: EmbeddedRedis | undefined;
let anvil: Anvil | undefined;
let sqsEmulator: SqsEmulator | undefined;
let screeningStub: ComplyAdvantageStub | undefined;
let registrarStub: RegistrarStub | undefined;
let sumsubStub: SumsubStub | undefined;
let onfidoStub: OnfidoStub | undefined;
let jumioStub: JumioStub | undefined;
const closeKycStubs = () => Promise.all([sumsubStub?.close(), onfidoStub?.close(), jumioStub?.close()].map((p) => p?.catch(() => {})));
try {
  const env = { ...process.env };
  if (!env.REDIS_URL && !(await redisAnswers("127.0.0.1", 6379))) {
    embedded = await startRedisServer();
    env.REDIS_URL = embedded.url;
    process.stdout.write(`dev: started redis-server at ${embedded.url}\n`);
  }
  // No RPC_URL: a local anvil whose chain is kept in .anvil/ beside the embedded database, with
  // the contracts deployed (once) and the well-known anvil key as the minter.
  let deployment: Deployment | undefined;
  let dvpRail: DvpRailDeployment | undefined;
  // A demo buyer for the stablecoin rail: anvil's key #1, funded with test USDC on first deploy.
  const demoBuyer = privateKeyToAccount(ANVIL_KEYS.spare);
  if (!env.RPC_URL) {
    mkdirSync(".anvil", { recursive: true });
    anvil = await startAnvil({ stateFile: ".anvil/state.json" });
    env.RPC_URL = anvil.url;
    env.CHAIN_ID = "31337";
    // Two signers, so dev mode mints from several keys as production may.
    env.SIGNER_PRIVATE_KEY ||= [ANVIL_KEYS.signer, ANVIL_KEYS.extraSigners[0]].join(",");
    const deployer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.deployer });
    const signers = env.SIGNER_PRIVATE_KEY.split(",").map((k) => privateKeyToAccount(k.trim() as `0x${string}`).address);
    // The deployer administers the security token here, so it can grant the DvP contract MINTER_ROLE.
    deployment = await deployContracts(deployer, { admin: signers[0]!, tokenAdmin: deployer.account.address, minters: signers });
    env.DIVIDEND_BATCH_CONTRACT ||= deployment.batchTransfer;
    try {
      dvpRail = await deployDvpRail(deployer, { operators: signers, securityToken: deployment.securityToken, fund: [demoBuyer.address] });
      env.STABLECOIN_TOKENS ||= dvpRail.usdc;
      env.DVP_CONTRACT ||= dvpRail.dvp;
    } catch (err) {
      process.stdout.write(`dev: no stablecoin rail: ${(err as Error).message}\n`);
    }
  }
  // SaaS that cannot be reached from a laptop: local stubs answering as the providers document.
  if (!env.COMPLYADVANTAGE_API_URL) {
    screeningStub = await startComplyAdvantageStub(randomBytes(12).toString("base64url"), { recordRequests: false });
    env.COMPLYADVANTAGE_API_URL = screeningStub.url;
    env.COMPLYADVANTAGE_API_KEY = screeningStub.apiKey;
  }
  if (!env.REGISTRAR_API_URL) {
    registrarStub = await startRegistrarStub(randomBytes(12).toString("base64url"));
    env.REGISTRAR_API_URL = registrarStub.url;
    env.REGISTRAR_API_KEY = registrarStub.apiKey;
  }
  // KYC providers' APIs: investors created with a kycProvider get an applicant at the stub.
  if (!env.SUMSUB_API_URL) {
    sumsubStub = await startSumsubStub(`sbx:${randomBytes(12).toString("base64url")}`, randomBytes(16).toString("hex"));
    env.SUMSUB_API_URL = sumsubStub.url;
    env.SUMSUB_APP_TOKEN = sumsubStub.appToken;
    env.SUMSUB_SECRET_KEY = sumsubStub.secretKey;
  }
  if (!env.ONFIDO_API_URL) {
    onfidoStub = await startOnfidoStub(`api_sandbox.${randomBytes(12).toString("base64url")}`);
    env.ONFIDO_API_URL = onfidoStub.url;
    env.ONFIDO_API_TOKEN = onfidoStub.apiToken;
  }
  if (!env.JUMIO_API_URL && !env.JUMIO_TOKEN_URL) {
    jumioStub = await startJumioStub(randomBytes(8).toString("hex"), randomBytes(16).toString("hex"));
    env.JUMIO_TOKEN_URL = jumioStub.tokenUrl;
    env.JUMIO_API_URL = jumioStub.url;
    env.JUMIO_CLIENT_ID = jumioStub.clientId;
    env.JUMIO_CLIENT_SECRET = jumioStub.clientSecret;
    // Jumio settings require an allowlist (its callbacks are unsigned): loopback, in dev.
    env.JUMIO_IP_ALLOWLIST ||= "127.0.0.1/32,::1/128";
  }
  const boardPassword = env.BOARD_PASSWORD || randomBytes(9).toString("base64url");
  // Dev mode makes up an admin token too, so the admin API can be tried at once.
  const madeUpToken = !env.ADMIN_API_TOKEN;
  env.ADMIN_API_TOKEN ||= randomBytes(18).toString("base64url");
  const config = loadProcessConfig(env);
  const c = await buildClients(config, "producer", "dev");
  await migrateToLatest(c.dbh.db, config.DATABASE_SCHEMA);
  await registerSchedulers(c.queues, QUEUE_MODULES, config, c.redis);
  const worker = startWorkerSide(c);
  // Without broker queue URLs, run the SQS emulator here with both FIFO queues.
  let queueUrls = relayQueueUrls(config);
  let sqs: SQSClient | undefined;
  if (Object.keys(queueUrls).length === 0) {
    sqsEmulator = await startSqsEmulator({ region: config.AWS_REGION });
    queueUrls = { primary: sqsEmulator.primaryUrl, dr: sqsEmulator.drUrl };
    sqs = createSqsClient({ ...config, AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint }, { credentials: EMULATOR_CREDENTIALS });
  }
  const relay = startRelaySide(c, { queueUrls, sqs });
  const web = await startWebSide(c, { boardPassword });
  process.stdout.write(
    `${[
      "",
      "hookrail dev is running",
      `  database:  ${c.dbh.kind === "pglite" ? `embedded PGlite in ${config.PGLITE_DIR}` : "Postgres (DATABASE_URL)"}`,
      `  redis:     ${config.REDIS_URL}`,
      `  health:    http://127.0.0.1:${web.port}/healthz`,
      `  dashboard: http://127.0.0.1:${web.port}/admin/queues  (user ${config.BOARD_USERNAME}, password ${boardPassword})`,
      `  admin API: http://127.0.0.1:${web.port}/api  (${madeUpToken ? `Authorization: Bearer ${config.ADMIN_API_TOKEN}` : "bearer ADMIN_API_TOKEN"})`,
      `  chain:     ${config.RPC_URL ?? "none (no RPC_URL): mints wait"}${anvil ? " (anvil, state in .anvil/)" : ""}`,
      ...(deployment
        ? [
            `  security token (18 decimals): ${deployment.securityToken}`,
            `  stablecoin (6 decimals):      ${deployment.stablecoin}`,
            `  batch transfer:               ${deployment.batchTransfer}`,
          ]
        : []),
      ...(dvpRail
        ? [
            `  stablecoin rail: test USDC (6 decimals) ${dvpRail.usdc}, DvP contract ${dvpRail.dvp}`,
            `    demo buyer ${demoBuyer.address} (anvil key #1, ${ANVIL_KEYS.spare}) holds test USDC`,
            "    try:    POST /api/investors with that wallet (KYC approved), then POST /api/orders with",
            `            {"rail":"stablecoin","cashToken":"${dvpRail.usdc}","cashAmount":"100.00","tokenAddress":"${deployment!.securityToken}","tokenAmount":"1000000000000000000",...}`,
            `            approve from the buyer, e.g. cast send ${dvpRail.usdc} "approve(address,uint256)" ${dvpRail.dvp} 100000000 --private-key <key #1> --rpc-url ${config.RPC_URL}`,
            "            and GET /api/orders/<referenceId> shows awaiting_allowance, settling, then completed with stablecoin.settlementTxHash",
          ]
        : []),
      ...(sqsEmulator
        ? [
            `  sqs:       fauxqs emulator at ${sqsEmulator.endpoint} (any credentials)`,
            `    primary: ${sqsEmulator.primaryUrl}`,
            `    dr:      ${sqsEmulator.drUrl}`,
          ]
        : [
            `  sqs:       ${Object.entries(queueUrls)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")}`,
          ]),
      `  screening: ${screeningStub ? `ComplyAdvantage stub at ${screeningStub.url} (clean for every name)` : config.COMPLYADVANTAGE_API_URL}`,
      `  registrar: ${registrarStub ? `registrar stub at ${registrarStub.url}` : config.REGISTRAR_API_URL}`,
      `  KYC APIs:  Sumsub ${sumsubStub ? `stub at ${sumsubStub.url}` : config.SUMSUB_API_URL}, Onfido ${onfidoStub ? `stub at ${onfidoStub.url}` : config.ONFIDO_API_URL}, Jumio ${jumioStub ? `stub at ${jumioStub.url}` : config.JUMIO_API_URL}`,
      '    try:    POST /api/investors with "kycProvider": "sumsub", then GET /api/investors/<id> shows kyc.applicantId and kyc.verificationUrl',
      "",
    ].join("\n")}\n`,
  );
  onShutdown(c.log, async () => {
    await web.stop();
    await relay.stop();
    sqs?.destroy();
    await worker.stop();
    await closeClients(c);
    await sqsEmulator?.stop();
    await screeningStub?.close();
    await registrarStub?.close();
    await closeKycStubs();
    await embedded?.stop();
    await anvil?.stop();
  });
} catch (err) {
  await sqsEmulator?.stop().catch(() => {});
  await screeningStub?.close().catch(() => {});
  await registrarStub?.close().catch(() => {});
  await closeKycStubs();
  await embedded?.stop().catch(() => {});
  await anvil?.stop().catch(() => {});
  exitOnStartupError(err);
}
