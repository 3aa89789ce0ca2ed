#!/usr/bin/env node
// `npm run docs`: regenerates the reference documents that are derived from code, so they cannot drift:
// docs/cli.md from the CLI's command tree, docs/openapi/governance.json from the running service's route table and
// docs/openapi/runtime-sidecar.json and docs/openapi/agent.json from a running sidecar's and agent's.
// Tests fail when the committed copies are stale.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, installNodeDependencies } from "./setup.mjs";
import { log, root } from "./lib.mjs";

installNodeDependencies();
build();
const { renderCliReference } = await import("@cleanroom/cli");
const { startGovernanceService } = await import("@cleanroom/governance");
const { createSelfSignedCertificate, generateP384KeyPair } = await import("@cleanroom/crypto");

writeFileSync(join(root, "docs", "cli.md"), renderCliReference());
log("wrote docs/cli.md");

const dataDir = mkdtempSync(join(tmpdir(), "cleanroom-docs-"));
const member = generateP384KeyPair();
const service = await startGovernanceService({
  dataDir,
  initialMembers: [{ certificatePem: await createSelfSignedCertificate(member, { commonName: "docs" }), memberData: { identifier: "docs" } }],
});
try {
  const body = await new Promise((resolve, reject) => {
    get(`${service.url}/openapi.json`, { ca: service.serviceCertificatePem }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve(text));
    }).on("error", reject);
  });
  mkdirSync(join(root, "docs", "openapi"), { recursive: true });
  writeFileSync(join(root, "docs", "openapi", "governance.json"), JSON.stringify(JSON.parse(body), null, 2) + "\n");
  log("wrote docs/openapi/governance.json");
  // The sidecar only serves its document here; its governance link is never used.
  const { GovernanceLink, WorkloadKey, replayedEvidenceSource, startRuntimeSidecar } = await import("@cleanroom/runtime");
  const key = WorkloadKey.generate();
  const source = replayedEvidenceSource({});
  const link = new GovernanceLink({ url: service.url, serviceCertificatePem: service.serviceCertificatePem, contractId: "docs", key, source });
  const sidecar = await startRuntimeSidecar({ link, key, source });
  try {
    const document = await (await fetch(`${sidecar.url}/openapi.json`)).json();
    writeFileSync(join(root, "docs", "openapi", "runtime-sidecar.json"), JSON.stringify(document, null, 2) + "\n");
    log("wrote docs/openapi/runtime-sidecar.json");
  } finally {
    await sidecar.close();
  }
  // The agent, likewise, only serves its document here.
  const { startAgent, governancePortOf } = await import("@cleanroom/agent");
  const agentDir = mkdtempSync(join(tmpdir(), "cleanroom-docs-agent-"));
  const agent = await startAgent({
    contractId: "docs",
    governance: governancePortOf(link),
    workDirectory: agentDir,
    attestation: { mode: "replayed-test-vector", hostData: "docs" },
    governanceUrl: service.url,
  });
  try {
    const document = await new Promise((resolve, reject) => {
      get(`${agent.url}/openapi.json`, { ca: agent.certificatePem }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve(JSON.parse(text)));
      }).on("error", reject);
    });
    writeFileSync(join(root, "docs", "openapi", "agent.json"), JSON.stringify(document, null, 2) + "\n");
    log("wrote docs/openapi/agent.json");
  } finally {
    await agent.close();
    rmSync(agentDir, { recursive: true, force: true });
  }
} finally {
  await service.close();
  rmSync(dataDir, { recursive: true, force: true });
}
