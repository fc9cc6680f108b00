// The server's CPU by part from a --cpu-prof profile of a bench run (see BENCHMARKS.md, "Receiver cost, second pass"):
//   node bench/receiver/profile-parts.mjs /tmp/prof/CPU.*.cpuprofile [server CPU µs per request]
// Each busy main-thread sample (idle and module loading left out) goes to one part: kernel
// writes by the JS frame that issued them (Redis writev, HTTP response, log fs.write), GC,
// else the innermost frame's library or module. With the second argument each share is also
// given in µs of that per-request total (which counts every thread of the process, so it
// scales main-thread shares by a total that also holds off-thread work).
import { readFileSync } from "node:fs";
const [file, usPerReq] = [process.argv[2], Number(process.argv[3] ?? 0)];
const p = JSON.parse(readFileSync(file, "utf8"));
const nodes = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const url = (f) => (f.url.includes("node_modules/") ? f.url.replace(/.*node_modules\//, "nm/") : f.url.replace(/.*\/dist\//, "dist/"));
const lib = [
  ["log line: pino formatting", (u) => /^nm\/pino\//.test(u)],
  ["log line: write (sonic-boom)", (u) => /^nm\/sonic-boom\//.test(u)],
  ["ioredis: commands, replies", (u) => /^nm\/(ioredis|redis-parser|standard-as-callback|denque)\//.test(u)],
  ["BullMQ add (Job, msgpackr, script call)", (u) => /bullmq|msgpackr/.test(u)],
  ["zod validation", (u) => /^nm\/zod\//.test(u) || /validation\//.test(u) || /webhooks\/providers\//.test(u)],
  ["exact JSON parse", (u) => /exact-json|lossless-json/.test(u)],
  ["signature (HMAC)", (u) => /webhooks\/verify\//.test(u) || u === "node:internal/crypto/hash"],
  ["metrics (prom-client)", (u) => /prom-client/.test(u)],
  ["job id", (u) => /queues\/job-id/.test(u)],
  ["allowlist", (u) => /dist\/src\/net\//.test(u) || /ipaddr/.test(u)],
  ["enqueue (addOnce, timeout)", (u) => /webhooks\/enqueue|with-timeout/.test(u)],
  ["Redis write coalescing (JS)", (u) => /redis\/connection/.test(u)],
  ["receiver code", (u) => /webhooks\//.test(u)],
  ["Hono routing, middleware, security headers", (u) => /^nm\/hono\/|security-headers|server\/app\.js/.test(u)],
  ["@hono/node-server (request, response)", (u) => /@hono\/node-server/.test(u)],
  ["WHATWG Headers (undici)", (u) => /undici/.test(u)],
];
let busy = 0,
  startup = 0;
const parts = new Map();
const add = (k, c) => parts.set(k, (parts.get(k) ?? 0) + c);
for (const [id, c] of counts) {
  const leaf = nodes.get(id);
  const fn = leaf.callFrame.functionName;
  if (fn === "(idle)") continue;
  const st = [];
  for (let x = id; x !== undefined; x = parent.get(x)) st.push(nodes.get(x));
  if (st.some((n) => /modules\/(esm|cjs)\/|run_main/.test(n.callFrame.url))) {
    startup += c;
    continue;
  }
  busy += c;
  const has = (re) => st.some((n) => re.test(`${n.callFrame.functionName}@${url(n.callFrame)}`));
  if (fn === "(garbage collector)") {
    add("GC", c);
    continue;
  }
  if (/^write(v|Utf8String|Buffer|LatinString)?$/.test(fn) && has(/release@dist\/src\/redis\/connection/)) {
    add("Redis socket write (kernel, coalesced writev)", c);
    continue;
  }
  if (/^write(v|Utf8String|Buffer|LatinString)?$/.test(fn) && has(/^end@node:_http_outgoing/)) {
    add("HTTP response write (kernel)", c);
    continue;
  }
  if (/^write(String|Buffer)$/.test(fn) && has(/sonic-boom/)) {
    add("log line: write (fs.write)", c);
    continue;
  }
  let part;
  for (const n of st) {
    const u = url(n.callFrame);
    const r = lib.find(([, t]) => t(u));
    if (r) {
      part = r[0];
      break;
    }
  }
  if (!part)
    part = has(/_http_|node:net|stream/)
      ? "Node HTTP/net (request parse, socket reads)"
      : fn === "(program)"
        ? "(program: native, unattributed)"
        : /Microtasks|processTicks/.test(fn)
          ? "promise/microtask machinery"
          : `other (${fn})`;
  add(part, c);
}
console.log(`busy samples ${busy} (startup excluded: ${startup})`);
const rows = [...parts].sort((a, b) => b[1] - a[1]);
let other = 0;
for (const [k, v] of rows) {
  const share = v / busy;
  if (share < 0.008 && k.startsWith("other")) {
    other += v;
    continue;
  }
  console.log(`| ${k} | ${(100 * share).toFixed(1)}% |${usPerReq ? ` ${(share * usPerReq).toFixed(1)} |` : ""}`);
}
console.log(`| other (each < 0.8%) | ${((100 * other) / busy).toFixed(1)}% |${usPerReq ? ` ${((other / busy) * usPerReq).toFixed(1)} |` : ""}`);
