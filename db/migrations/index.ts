import type { Migration } from "kysely/migration";
import * as m0001 from "./0001_processed_events.js";
import * as m0002 from "./0002_orders_kyc_custody.js";
import * as m0003 from "./0003_broker_events.js";
import * as m0004 from "./0004_broker_ingest.js";
import * as m0005 from "./0005_aml.js";
import * as m0006 from "./0006_dividends.js";
import * as m0007 from "./0007_drop_processed_events.js";
import * as m0008 from "./0008_kyc_applicants.js";
import * as m0009 from "./0009_chain_production.js";
import * as m0010 from "./0010_audit_events.js";
import * as m0011 from "./0011_sepa.js";
import * as m0012 from "./0012_kyc_submission.js";
import * as m0013 from "./0013_dvp.js";
import * as m0014 from "./0014_fireblocks_outbound.js";
import * as m0015 from "./0015_custody_signer.js";
import * as m0016 from "./0016_mint_intent_orders_reference.js";

/**
 * Migrations are listed here rather than read from the directory, so the same list works
 * from TypeScript (tests) and compiled JavaScript (production). Names sort in run order.
 */
export const migrations: Record<string, Migration> = {
  "0001_processed_events": m0001,
  "0002_orders_kyc_custody": m0002,
  "0003_broker_events": m0003,
  "0004_broker_ingest": m0004,
  "0005_aml": m0005,
  "0006_dividends": m0006,
  "0007_drop_processed_events": m0007,
  "0008_kyc_applicants": m0008,
  "0009_chain_production": m0009,
  "0010_audit_events": m0010,
  "0011_sepa": m0011,
  "0012_kyc_submission": m0012,
  "0013_dvp": m0013,
  "0014_fireblocks_outbound": m0014,
  "0015_custody_signer": m0015,
  "0016_mint_intent_orders_reference": m0016,
};
