import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS, startAnvil, type Anvil } from "../chain/anvil.js";
import { createChainClients } from "../chain/clients.js";
import { deployContracts, deployDvpRail, type Deployment, type DvpRailDeployment } from "../chain/deploy.js";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { loadProcessConfig } from "../processes/config.js";
import { migrateToLatest } from "../db/migrate.js";
import { redisAnswers, startRedisServer, type EmbeddedRedis } from "../dev/embedded-redis.js";
import { startComplyAdvantageStub, type ComplyAdvantageStub } from "../dev/stubs/complyadvantage.js";
import { startFireblocksApiStub, type FireblocksApiStub } from "../dev/stubs/fireblocks-api.js";
import { startJumioStub, type JumioStub } from "../dev/stubs/jumio.js";
import { onfidoCheck, startOnfidoStub, type OnfidoStub } from "../dev/stubs/onfido.js";
import { ONFIDO_EXAMPLE_CHECK } from "../dev/simulator/catalog.js";
import { type DevOidcProvider, startDevOidcProvider } from "../dev/oidc-provider.js";
import { startRegistrarStub, type RegistrarStub } from "../dev/stubs/registrar.js";
import { startSepaBankStub, type SepaBankStub } from "../dev/stubs/sepa-bank.js";
import { startSumsubStub, type SumsubStub } from "../dev/stubs/sumsub.js";
import { startTruliooStub, type TruliooStub } from "../dev/stubs/trulioo.js";
import { exitOnStartupError, onShutdown } from "../lifecycle/shutdown.js";
import { buildClients, closeClients } from "../processes/clients.js";
import { startWebSide } from "../processes/web.js";
import { startWorkerSide } from "../processes/worker.js";
import { QUEUE_MODULES } from "../processes/queue-modules.js";
import { registerSchedulers } from "../schedulers/register.js";
import { startRelaySide } from "../processes/relay.js";
import { EMULATOR_CREDENTIALS, startSqsEmulator, type SqsEmulator } from "../dev/sqs-emulator.js";
import { createSqsClient, relayQueueUrls } from "../relay/sqs-client.js";
import { JwksStub } from "../dev/stubs/fireblocks-jwks.js";
import { makeUpWebhookSecrets } from "../dev/simulator/dev-secrets.js";
import { DEV_SIMULATOR_ENV_FILE } from "../dev/simulator/settings.js";
import { chainSchema } from "../config/chain.js";

// One process with web + worker (+ relay) and embedded defaults, for trying hookrail on a
// laptop. Embedded PGlite allows one process per data directory, hence one process.
let embedded: EmbeddedRedis | undefined;
let anvil: Anvil | undefined;
let sqsEmulator: SqsEmulator | undefined;
let screeningStub: ComplyAdvantageStub | undefined;
let registrarStub: RegistrarStub | undefined;
let sepaBankStub: SepaBankStub | undefined;
let sumsubStub: SumsubStub | undefined;
let onfidoStub: OnfidoStub | undefined;
let jumioStub: JumioStub | undefined;
let jwksStub: JwksStub | undefined;
let oidcProvider: DevOidcProvider | undefined;
let truliooStub: TruliooStub | undefined;
let fireblocksStub: FireblocksApiStub | undefined;
const closeKycStubs = () =>
  Promise.all([sumsubStub?.close(), onfidoStub?.close(), jumioStub?.close(), truliooStub?.close(), fireblocksStub?.close()].map((p) => p?.catch(() => {})));
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
    const port = chainSchema.shape.DEV_CHAIN_PORT.safeParse(env.DEV_CHAIN_PORT);
    if (!port.success) throw new Error(`DEV_CHAIN_PORT: ${port.error.issues[0]?.message}`);
    anvil = await startAnvil({ stateFile: ".anvil/state.json", port: port.data }).catch((err: Error) => {
      throw new Error(`${err.message} (DEV_CHAIN_PORT=${port.data}; set another, or 0 for any free port)`);
    });
    env.RPC_URL = anvil.url;
    env.CHAIN_ID = "31337";
    // Two signers, so dev mode mints from several keys as production may. Under
    // SIGNER_BACKEND=fireblocks the first of them is the Fireblocks stub's signer vault instead.
    if (env.SIGNER_BACKEND !== "fireblocks") env.SIGNER_PRIVATE_KEY ||= [ANVIL_KEYS.signer, ANVIL_KEYS.extraSigners[0]].join(",");
    const signerKeys = env.SIGNER_BACKEND === "fireblocks" ? [ANVIL_KEYS.signer] : (env.SIGNER_PRIVATE_KEY ?? "").split(",");
    const deployer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.deployer });
    const signers = signerKeys.map((k) => privateKeyToAccount(k.trim() as `0x${string}`).address);
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
  // SEPA Direct Debit: a bank file API stub and a made-up creditor (the EPC's example creditor id).
  if (!env.SEPA_BANK_API_URL) {
    sepaBankStub = await startSepaBankStub(randomBytes(12).toString("base64url"));
    env.SEPA_BANK_API_URL = sepaBankStub.url;
    env.SEPA_BANK_API_KEY = sepaBankStub.apiKey;
    env.SEPA_CREDITOR_ID ||= "DE98ZZZ09999999999";
    env.SEPA_CREDITOR_NAME ||= "hookrail dev fund";
    env.SEPA_CREDITOR_IBAN ||= "DE89370400440532013000";
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
    env.ONFIDO_WORKFLOW_ID ||= onfidoStub.workflowId;
    // The check the simulator's `onfido check-completed` names, so that event can be applied here.
    const example = ONFIDO_EXAMPLE_CHECK;
    onfidoStub.checks.set(
      example.id,
      onfidoCheck(onfidoStub.url, example.id, { applicantId: example.applicantId, result: "clear", tags: [`investor:${example.investorId}`] }),
    );
  }
  if (!env.JUMIO_API_URL && !env.JUMIO_TOKEN_URL) {
    jumioStub = await startJumioStub(randomBytes(8).toString("hex"), randomBytes(16).toString("hex"));
    env.JUMIO_TOKEN_URL = jumioStub.tokenUrl;
    env.JUMIO_API_URL = jumioStub.url;
    env.JUMIO_CLIENT_ID = jumioStub.clientId;
    env.JUMIO_CLIENT_SECRET = jumioStub.clientSecret;
    env.JUMIO_ACCOUNT_URL ||= jumioStub.url;
    // Jumio settings require an allowlist (its callbacks are unsigned): loopback, in dev.
    env.JUMIO_IP_ALLOWLIST ||= "127.0.0.1/32,::1/128";
  }
  if (!env.TRULIOO_API_URL && !env.TRULIOO_TOKEN_URL) {
    truliooStub = await startTruliooStub(randomBytes(8).toString("hex"), randomBytes(16).toString("hex"));
    env.TRULIOO_TOKEN_URL = truliooStub.tokenUrl;
    env.TRULIOO_API_URL = truliooStub.url;
    env.TRULIOO_CLIENT_ID = truliooStub.clientId;
    env.TRULIOO_CLIENT_SECRET = truliooStub.clientSecret;
  }
  // Webhook secrets: made up where unset, so every route accepts what `npm run simulate` signs.
  if (!env.FIREBLOCKS_JWKS_URL) {
    jwksStub = await JwksStub.start();
    env.FIREBLOCKS_JWKS_URL = jwksStub.url;
  }
  // Fireblocks: vaults and transfers at the stub, which completes each transaction by itself and
  // reports it with signed webhooks v2 to this process, so the loop runs locally. Its signing
  // key is published in the same local JWKS as the simulator's.
  if (!env.FIREBLOCKS_API_URL) {
    // SIGNER_BACKEND=fireblocks on the local chain: the stub's signer vault runs contract calls there with anvil's signer key.
    const signerVault = env.SIGNER_BACKEND === "fireblocks" && anvil ? { rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer } : undefined;
    fireblocksStub = await startFireblocksApiStub(randomUUID(), { autoAdvance: true, ...(signerVault ? { chain: signerVault } : {}) });
    if (signerVault) {
      env.FIREBLOCKS_SIGNER_VAULT_ID ||= fireblocksStub.signerVaultId;
      env.FIREBLOCKS_SIGNER_ADDRESS ||= fireblocksStub.signerAddress;
    }
    env.FIREBLOCKS_API_URL = fireblocksStub.url;
    env.FIREBLOCKS_API_KEY = fireblocksStub.apiKey;
    env.FIREBLOCKS_API_SECRET_KEY = fireblocksStub.secretKeyPem;
    if (jwksStub) await jwksStub.publish(fireblocksStub.webhookKid, fireblocksStub.webhookSigningKey);
    else env.FIREBLOCKS_JWKS_URL ||= fireblocksStub.jwksUrl;
  }
  const webhookSecrets = await makeUpWebhookSecrets(env, jwksStub);
  // The ops surface signs in through a local OpenID Connect provider with a viewer and an
  // operator, unless basic auth (BOARD_PASSWORD) or a real IdP (OIDC_*/SAML_*) is configured.
  const ssoConfigured = Object.keys(env).some((k) => /^(OIDC|SAML)_/.test(k) && env[k]);
  if (!env.BOARD_PASSWORD && !ssoConfigured) {
    const redirectUrl = `http://127.0.0.1:${env.PORT || "3000"}/admin/auth/callback`;
    const password = () => randomBytes(9).toString("base64url");
    oidcProvider = await startDevOidcProvider({
      redirectUrl,
      users: [
        { username: "viewer", password: password(), email: "viewer@hookrail.local", groups: ["hookrail-viewers"] },
        { username: "operator", password: password(), email: "operator@hookrail.local", groups: ["hookrail-operators"] },
      ],
    });
    Object.assign(env, {
      OIDC_ISSUER_URL: oidcProvider.issuer,
      OIDC_CLIENT_ID: oidcProvider.clientId,
      OIDC_CLIENT_SECRET: oidcProvider.clientSecret,
      OIDC_REDIRECT_URL: redirectUrl,
      OIDC_SCOPES: "openid email groups",
      OIDC_ROLES_CLAIM: "groups",
      SSO_VIEWER_ROLES: "hookrail-viewers",
      SSO_OPERATOR_ROLES: "hookrail-operators",
    });
  }
  if (env.OIDC_ISSUER_URL || env.SAML_ENTRY_POINT) env.SESSION_SECRET ||= randomBytes(32).toString("base64url");
  const boardPassword = oidcProvider || ssoConfigured ? undefined : env.BOARD_PASSWORD || randomBytes(9).toString("base64url");
  // And a metrics token, so /metrics on the web port can be scraped at once.
  const madeUpMetricsToken = !env.METRICS_TOKEN;
  env.METRICS_TOKEN ||= randomBytes(18).toString("base64url");
  // Dev mode makes up an admin token too, so the admin API can be tried at once.
  const madeUpToken = !env.ADMIN_API_TOKEN;
  env.ADMIN_API_TOKEN ||= randomBytes(18).toString("base64url");
  const config = loadProcessConfig(env);
  const c = await buildClients(config, "producer", "dev");
  await migrateToLatest(c.dbh.db, config.DATABASE_SCHEMA);
  await registerSchedulers(c.queues, QUEUE_MODULES, config);
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
  const web = await startWebSide(c, { boardPassword, dev: true });
  // What the simulator needs to sign and to reach this instance; read by `npm run simulate`.
  mkdirSync(".dev", { recursive: true });
  const simulatorEnv: Record<string, string> = {
    ...webhookSecrets.simulatorEnv,
    SIMULATOR_TARGET: `http://127.0.0.1:${web.port}`,
    ...(sqsEmulator
      ? {
          AWS_REGION: config.AWS_REGION,
          AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint,
          AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
          BAKKT_SQS_PRIMARY_URL: sqsEmulator.primaryUrl,
          BAKKT_SQS_DR_URL: sqsEmulator.drUrl,
        }
      : {}),
  };
  writeFileSync(
    DEV_SIMULATOR_ENV_FILE,
    Object.entries(simulatorEnv)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`)
      .join(""),
    { mode: 0o600 },
  );
  if (fireblocksStub) fireblocksStub.webhookUrl = `http://127.0.0.1:${web.port}/webhooks/custody/fireblocks`;
  process.stdout.write(
    `${[
      "",
      "hookrail dev is running",
      `  database:  ${c.dbh.kind === "pglite" ? `embedded PGlite in ${config.PGLITE_DIR}` : "Postgres (DATABASE_URL)"}`,
      `  redis:     ${config.REDIS_URL}`,
      `  health:    http://127.0.0.1:${web.port}/healthz`,
      boardPassword
        ? `  dashboard: http://127.0.0.1:${web.port}/admin/queues  (user ${config.BOARD_USERNAME}, password ${boardPassword})`
        : `  dashboard: http://127.0.0.1:${web.port}/admin/queues  (single sign-on${oidcProvider ? "" : ` via ${config.OIDC_ISSUER_URL ?? config.SAML_ENTRY_POINT}`})`,
      ...(oidcProvider
        ? [
            `    sign-in: local OpenID Connect provider at ${oidcProvider.issuer}`,
            ...oidcProvider.users.map(
              (u) => `      ${u.groups.includes("hookrail-operators") ? "operator" : "viewer  "}: user ${u.username}, password ${u.password}`,
            ),
            "    pages:   /admin/dead-letters (replay, purge), /admin/flagged-orders (accept, cancel, re-open)",
          ]
        : []),
      `  admin API: http://127.0.0.1:${web.port}/api  (${madeUpToken ? `Authorization: Bearer ${config.ADMIN_API_TOKEN}` : "bearer ADMIN_API_TOKEN"})`,
      `  metrics:   http://127.0.0.1:${web.port}/metrics  (${madeUpMetricsToken ? `Authorization: Bearer ${config.METRICS_TOKEN}` : "bearer METRICS_TOKEN"})`,
      `  chain:     ${config.RPC_URL ?? "none (no RPC_URL): mints wait"}${anvil ? " (anvil, state in .anvil/)" : ""}`,
      `  signer:    ${config.SIGNER_BACKEND === "fireblocks" ? `Fireblocks vault ${config.FIREBLOCKS_SIGNER_VAULT_ID} (${config.FIREBLOCKS_SIGNER_ADDRESS}), CONTRACT_CALLs run by the stub` : `${config.SIGNER_PRIVATE_KEY.length} local key(s)`}`,
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
      `  SEPA bank: ${sepaBankStub ? `payment-file API stub at ${sepaBankStub.url}` : config.SEPA_BANK_API_URL}`,
      `  KYC APIs:  Sumsub ${sumsubStub ? `stub at ${sumsubStub.url}` : config.SUMSUB_API_URL}, Onfido ${onfidoStub ? `stub at ${onfidoStub.url}` : config.ONFIDO_API_URL}, Jumio ${jumioStub ? `stub at ${jumioStub.url}` : config.JUMIO_API_URL}, Trulioo ${truliooStub ? `stub at ${truliooStub.url}` : config.TRULIOO_API_URL}`,
      '    try:    POST /api/investors with "kycProvider": "sumsub" (or onfido, jumio, trulioo), then GET /api/investors/<id> shows kyc.applicantId and kyc.verificationUrl',
      ...(webhookSecrets.printed.length
        ? [`  webhook secrets (made up for this run; also in ${DEV_SIMULATOR_ENV_FILE} for the simulator):`, ...webhookSecrets.printed.map((l) => `    ${l}`)]
        : []),
      "  simulate:  npm run simulate -- payments completed   (npm run simulate -- --list shows every event and what it needs)",
      `  KYC APIs:  Sumsub ${sumsubStub ? `stub at ${sumsubStub.url}` : config.SUMSUB_API_URL}, Onfido ${onfidoStub ? `stub at ${onfidoStub.url}` : config.ONFIDO_API_URL}, Jumio ${jumioStub ? `stub at ${jumioStub.url}` : config.JUMIO_API_URL}`,
      `  custody:   Fireblocks ${fireblocksStub ? `stub at ${fireblocksStub.url} (completes every transaction, signed webhooks v2)` : (config.FIREBLOCKS_API_URL ?? "not configured")}`,
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
    await sepaBankStub?.close();
    await closeKycStubs();
    await jwksStub?.stop();
    await embedded?.stop();
    await anvil?.stop();
    await oidcProvider?.close();
  });
} catch (err) {
  await sqsEmulator?.stop().catch(() => {});
  await screeningStub?.close().catch(() => {});
  await registrarStub?.close().catch(() => {});
  await sepaBankStub?.close().catch(() => {});
  await closeKycStubs();
  await jwksStub?.stop().catch(() => {});
  await embedded?.stop().catch(() => {});
  await anvil?.stop().catch(() => {});
  await oidcProvider?.close().catch(() => {});
  exitOnStartupError(err);
}
