// Governance write throughput: signed proposals per second and latency percentiles at 1, 8 and 32 concurrent
// clients against a running governance service (a separate process), next to the raw ES384 verification rate of
// this machine measured in the same run. Every write is durable (fsync'd) before it is acknowledged.
//
// Run: npm run bench:governance
import { createPublicKey, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { coseToBeSigned, decodeCoseSign1, signGovernanceMessage } from "@cleanroom/crypto";
import { GovernanceClient } from "@cleanroom/governance-client";
import { makeIdentity } from "../../test/support/consortium.js";
import { spawnGovernanceService, waitForExit } from "../../test/support/service-process.js";

const CONCURRENCY = [1, 8, 32];
const REQUESTS: Record<number, number> = { 1: 500, 8: 2000, 32: 4000 };
const WARMUP = 200;

/** CPU time (user + system, ms) a process has used, from /proc: the service's cost next to the client's. */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Raw ES384 verifications per second on one core: the same work the service does once per request. */
function rawVerifyRate(sample: Buffer, publicKeyPem: string, seconds = 2): number {
  const cose = decodeCoseSign1(sample);
  const toBeSigned = coseToBeSigned(cose);
  const key = createPublicKey(publicKeyPem);
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 50; i++) {
      if (!verify("sha384", toBeSigned, { key, dsaEncoding: "ieee-p1363" }, cose.signature)) throw new Error("bad sample");
    }
    count += 50;
  }
  return count / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "cleanroom-bench-"));
  const members = await Promise.all(["m0", "m1", "m2"].map(makeIdentity));
  const [m0] = members as [Awaited<ReturnType<typeof makeIdentity>>];
  const service = await spawnGovernanceService(dataDir, members.map((m) => m.certificatePem));
  try {
    for (const member of members) {
      const client = new GovernanceClient({ url: service.url, serviceCertificatePem: service.serviceCertificatePem, certificatePem: member.certificatePem, privateKeyPem: member.keys.privateKeyPem });
      await client.activate(member.id);
      client.close();
    }
    // Pre-sign every request so the client's signing cost is not part of the measurement. Proposals stay Open
    // (three members must vote), so each one is a fresh write with a validate and a resolve.
    const total = WARMUP + CONCURRENCY.reduce((sum, c) => sum + (REQUESTS[c] ?? 0), 0);
    process.stderr.write(`signing ${total} proposals...\n`);
    const signer = { privateKey: m0.keys.privateKeyPem, certificatePem: m0.certificatePem };
    const requests = Array.from({ length: total }, (_, i) =>
      signGovernanceMessage(signer, {
        type: "proposal",
        payload: JSON.stringify({ actions: [{ name: "set_member_data", args: { member_id: m0.id, member_data: { identifier: `bench-${i}` } } }] }),
      }),
    );
    const verifyBefore = rawVerifyRate(requests[0]!, m0.keys.publicKeyPem);

    const client = new GovernanceClient({ url: service.url, serviceCertificatePem: service.serviceCertificatePem, certificatePem: m0.certificatePem, privateKeyPem: m0.keys.privateKeyPem });
    let next = 0;
    const runLoad = async (concurrency: number, count: number) => {
      const batch = requests.slice(next, next + count);
      next += count;
      const latencies: number[] = [];
      let index = 0;
      const serverCpu = processCpuMs(service.child.pid!);
      const clientCpu = process.cpuUsage();
      const start = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (index < batch.length) {
            const body = batch[index++]!;
            const t0 = performance.now();
            await client.postCose("/gov/members/proposals:create", body);
            latencies.push(performance.now() - t0);
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      const clientUsage = process.cpuUsage(clientCpu);
      latencies.sort((a, b) => a - b);
      return {
        concurrency,
        requests: count,
        writesPerSecond: count / seconds,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        serverCpuMsPerWrite: (processCpuMs(service.child.pid!) - serverCpu) / count,
        clientCpuMsPerWrite: (clientUsage.user + clientUsage.system) / 1000 / count,
      };
    };

    await runLoad(8, WARMUP);
    const results = [];
    for (const concurrency of CONCURRENCY) results.push(await runLoad(concurrency, REQUESTS[concurrency] ?? 0));
    client.close();
    const verifyAfter = rawVerifyRate(requests[0]!, m0.keys.publicKeyPem);
    const verifyRate = (verifyBefore + verifyAfter) / 2;

    const cpu = cpus()[0]?.model ?? "unknown CPU";
    process.stdout.write(`\nGovernance signed writes (proposals:create), durable before acknowledgement\n`);
    process.stdout.write(`machine: ${cpus().length} x ${cpu}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
    process.stdout.write(`raw ES384 verify (1 core, same run): ${verifyRate.toFixed(0)}/s (before ${verifyBefore.toFixed(0)}, after ${verifyAfter.toFixed(0)})\n\n`);
    process.stdout.write("clients  requests  writes/s  p50 ms  p99 ms  ÷ raw verify  server CPU ms/write  client CPU ms/write\n");
    for (const r of results) {
      process.stdout.write(
        [
          String(r.concurrency).padStart(7),
          String(r.requests).padStart(8),
          r.writesPerSecond.toFixed(0).padStart(8),
          r.p50.toFixed(1).padStart(6),
          r.p99.toFixed(1).padStart(6),
          (r.writesPerSecond / verifyRate).toFixed(2).padStart(12),
          r.serverCpuMsPerWrite.toFixed(2).padStart(19),
          r.clientCpuMsPerWrite.toFixed(2).padStart(19),
        ].join("  ") + "\n",
      );
    }
    process.stdout.write(`\n${JSON.stringify({ verifyRate, results })}\n`);
  } finally {
    service.child.kill("SIGTERM");
    await waitForExit(service.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
