// Durability under SIGKILL: every write the service acknowledged survives a crash in the middle of a write load,
// and the ledger left behind verifies offline.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { GovernanceClient } from "@cleanroom/governance-client";
import { verifyLedger } from "@cleanroom/ledger";
import { makeIdentity } from "../support/consortium.js";
import { spawnGovernanceService, waitForExit, type ServiceProcess } from "../support/service-process.js";

const CYCLES = 5;
const WRITERS = 8;
const dataDir = mkdtempSync(join(tmpdir(), "cleanroom-crash-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Acknowledged {
  proposalId: string;
  transactionId: string;
}

describe("crash safety", () => {
  it(`keeps every acknowledged transaction across ${CYCLES} SIGKILLs under load`, { timeout: 240_000 }, async () => {
    const [m0, m1] = await Promise.all([makeIdentity("m0"), makeIdentity("m1")]);
    const clientFor = (service: ServiceProcess, member: typeof m0) =>
      new GovernanceClient({ url: service.url, serviceCertificatePem: service.serviceCertificatePem, certificatePem: member.certificatePem, privateKeyPem: member.keys.privateKeyPem, timeoutMs: 10_000 });

    let service = await spawnGovernanceService(dataDir, [m0.certificatePem, m1.certificatePem]);
    for (const member of [m0, m1]) {
      const client = clientFor(service, member);
      await client.activate(member.id);
      client.close();
    }
    const acknowledged: Acknowledged[] = [];
    let counter = 0;

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const client = clientFor(service, m0);
      let stop = false;
      // Proposals stay Open (m1 never votes), so each write is a new proposal whose id we can look up later.
      const writer = async () => {
        while (!stop) {
          const identifier = `write-${cycle}-${counter++}`;
          try {
            const { value, transactionId } = await client.createProposal({ actions: [{ name: "set_member_data", args: { member_id: m0.id, member_data: { identifier } } }] });
            acknowledged.push({ proposalId: value.proposalId, transactionId: transactionId! });
          } catch {
            // In flight when the process died: never acknowledged, so nothing is owed.
            if (!stop) await sleep(5);
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, writer);
      const before = acknowledged.length;
      while (acknowledged.length < before + 20) await sleep(10); // load is flowing
      await sleep(Math.random() * 300);
      service.child.kill("SIGKILL");
      await waitForExit(service.child);
      stop = true;
      await Promise.all(writers);
      client.close();
      expect(acknowledged.length - before).toBeGreaterThan(20);

      const report = verifyLedger(join(dataDir, "ledger"), { serviceCertificatePem: service.serviceCertificatePem });
      expect(report.problem).toBeUndefined();
      expect(report.ok).toBe(true);

      service = await spawnGovernanceService(dataDir, []);
      const reader = clientFor(service, m1);
      const open = new Map((await reader.proposals("Open")).map((p) => [p.proposalId, p]));
      for (const ack of acknowledged) {
        expect(open.get(ack.proposalId)?.createdTxId, `acknowledged proposal ${ack.proposalId}`).toBe(ack.transactionId);
        expect((await reader.transactionStatus(ack.transactionId)).status).toBe("Committed");
      }
      reader.close();
    }

    service.child.kill("SIGTERM");
    await waitForExit(service.child);
    const final = verifyLedger(join(dataDir, "ledger"), { serviceCertificatePem: service.serviceCertificatePem });
    expect(final).toMatchObject({ ok: true, unsignedTail: 0 });
    expect(final.transactions).toBeGreaterThan(acknowledged.length);
  });
});
