// Secret release throughput: attested releases per second and latency percentiles at 1 and 8 concurrent clients
// against a running governance service (a separate process). Each release verifies a genuine SEV-SNP report end to
// end (AMD chain from the cache, report signature, UVM endorsement), matches the clean-room policy, wraps the secret
// to the bound key and records an audit event durably. Baseline: the raw ECDSA P-384 verification rate of this
// machine (one core), measured in the same run; the report signature is one such verification.
//
// Run: npm run bench:key-release
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { GovernanceClient } from "@cleanroom/governance-client";
import { makeIdentity } from "../../test/support/consortium.js";
import { repoRoot } from "../../test/support/repo-root.js";
import { spawnGovernanceService, waitForExit } from "../../test/support/service-process.js";

const CONCURRENCY = [1, 8];
const REQUESTS: Record<number, number> = { 1: 300, 8: 1200 };
const WARMUP = 50;
const VECTOR = join(repoRoot(), "packages", "attestation", "testdata", "snp", "caci-milan-v3-allowall");
const ALLOW_ALL = "73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Raw ECDSA P-384 (SHA-384) verifications per second on one core, over a report-sized message. */
function rawVerifyRate(seconds = 2): number {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const message = Buffer.alloc(0x2a0, 7);
  const signature = sign("sha384", message, privateKey);
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 50; i++) if (!verify("sha384", message, publicKey, signature)) throw new Error("bad sample");
    count += 50;
  }
  return count / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "cleanroom-bench-kr-"));
  const members = await Promise.all(["m0", "m1"].map(makeIdentity));
  const service = await spawnGovernanceService(dataDir, members.map((m) => m.certificatePem), 30_000, ["--insecure-virtual-attestation"]);
  const clients = members.map((m) => new GovernanceClient({ url: service.url, serviceCertificatePem: service.serviceCertificatePem, certificatePem: m.certificatePem, privateKeyPem: m.keys.privateKeyPem }));
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: service.serviceCertificatePem });
  try {
    for (const [i, client] of clients.entries()) await client.activate(members[i]!.id);
    const [c0] = clients as [GovernanceClient];
    const unanimous = async (proposalId: string) => {
      for (const [i, client] of clients.entries()) {
        if ((await c0.proposal(proposalId)).proposalState === "Open") await client.vote(proposalId, members[i]!.id, true);
      }
    };
    await c0.putContract("bench", { data: { purpose: "key-release benchmark" } });
    const contract = await c0.contract("bench");
    await unanimous((await c0.createProposal({ actions: [{ name: "set_contract", args: { contractId: "bench", contract } }] })).value.proposalId);
    await unanimous((await c0.proposeCleanRoomPolicy({ contractId: "bench", type: "add", claims: { "x-ms-sevsnpvm-hostdata": ALLOW_ALL } })).value.proposalId);
    const { value: secret } = await c0.putSecret("bench", "dek", "a data encryption key");

    const body = JSON.stringify({
      attestation: JSON.parse(readFileSync(join(VECTOR, "evidence.json"), "utf8")) as unknown,
      encrypt: { publicKey: readFileSync(join(VECTOR, "runtime_data.pem")).toString("base64") },
    });
    const release = () =>
      new Promise<number>((resolve, reject) => {
        const start = performance.now();
        const req = request(
          new URL(`/app/contracts/bench/secrets/${secret.secretId}`, service.url),
          { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`release failed: HTTP ${res.statusCode}`))));
          },
        );
        req.on("error", reject);
        req.end(body);
      });

    for (let i = 0; i < WARMUP; i++) await release();
    const before = rawVerifyRate();
    const results = [];
    for (const concurrency of CONCURRENCY) {
      const total = REQUESTS[concurrency] ?? 0;
      const latencies: number[] = [];
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) {
            next++;
            latencies.push(await release());
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      latencies.sort((a, b) => a - b);
      results.push({ concurrency, requests: total, releasesPerSecond: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) });
    }
    const after = rawVerifyRate();
    const rate = (before + after) / 2;

    const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
    process.stdout.write(`\nAttested secret releases (SEV-SNP verification, policy match, wrap, audit event), durable\n`);
    process.stdout.write(`machine: ${cpus().length} x ${cpu}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
    process.stdout.write(`raw ECDSA P-384 verify (1 core, same run): ${rate.toFixed(0)}/s (before ${before.toFixed(0)}, after ${after.toFixed(0)})\n\n`);
    process.stdout.write("clients  requests  releases/s  p50 ms  p99 ms  ÷ raw verify\n");
    for (const r of results) {
      process.stdout.write(
        `${String(r.concurrency).padStart(7)}  ${String(r.requests).padStart(8)}  ${r.releasesPerSecond.toFixed(0).padStart(10)}  ${r.p50.toFixed(1).padStart(6)}  ${r.p99.toFixed(1).padStart(6)}  ${(r.releasesPerSecond / rate).toFixed(3).padStart(12)}\n`,
      );
    }
    process.stdout.write(`\n${JSON.stringify({ verifyRate: rate, results })}\n`);
  } finally {
    agent.destroy();
    for (const client of clients) client.close();
    service.child.kill("SIGTERM");
    await waitForExit(service.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
