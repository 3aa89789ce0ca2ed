import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createSelfSignedCertificate, generateP384KeyPair } from "@cleanroom/crypto";
import { PrestartedParquetWriter, type JobLimits } from "@cleanroom/engine-duckdb";
import type { AgentInfo } from "@cleanroom/protocol";
import type { GovernancePort } from "./governance-port.js";
import { buildAgentApp } from "./http/app.js";
import { CallerAuthenticator } from "./http/caller-auth.js";
import { RunManager } from "./runs/run-manager.js";
import { RunStore } from "./runs/run-store.js";

export interface AgentOptions {
  readonly contractId: string;
  readonly governance: GovernancePort;
  /** The agent's private, persistent folder: run history (`agent.db`) and each run's scratch space. */
  readonly workDirectory: string;
  /** What `GET /info` says about the agent's attestation. */
  readonly attestation: { mode: AgentInfo["attestationMode"]; hostData: string };
  readonly governanceUrl: string;
  /** DuckDB's memory limit per run (default 4GB); beyond it the engine spills to the run's scratch space. */
  readonly memoryLimit?: string;
  readonly threads?: number;
  readonly maxConcurrentRuns?: number;
  /** The agent's TLS identity; a fresh self-signed P-384 certificate when absent. */
  readonly tls?: { certificatePem: string; privateKeyPem: string };
  readonly host?: "127.0.0.1" | "::1";
  readonly port?: number;
  readonly callerCacheMs?: number;
  readonly logError?: (error: unknown) => void;
  readonly clock?: () => Date;
}

export interface RunningAgent {
  readonly url: string;
  readonly port: number;
  /** The agent's TLS certificate: what clients pin. */
  readonly certificatePem: string;
  readonly manager: RunManager;
  /** Stops accepting requests, waits for runs in progress, and closes the history. */
  close(): Promise<void>;
}

/** Starts the agent: HTTPS on the loopback interface, runs executed in this process by the embedded engine. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  mkdirSync(options.workDirectory, { recursive: true, mode: 0o700 });
  const tls =
    options.tls ??
    (await (async () => {
      const keys = generateP384KeyPair();
      const certificatePem = await createSelfSignedCertificate(keys, { commonName: "cleanroom-agent", ipAddresses: ["127.0.0.1", "::1"], dnsNames: ["localhost"] });
      return { certificatePem, privateKeyPem: keys.privateKeyPem };
    })());
  const store = new RunStore(join(options.workDirectory, "agent.db"));
  const limits: JobLimits = {
    memoryLimit: options.memoryLimit ?? "4GB",
    tempDirectory: join(options.workDirectory, "spill"),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  };
  mkdirSync(limits.tempDirectory, { recursive: true, mode: 0o700 });
  const parquetWriter = new PrestartedParquetWriter();
  const manager = new RunManager({
    port: options.governance,
    store,
    contractId: options.contractId,
    workDirectory: options.workDirectory,
    limits,
    writeParquet: parquetWriter.write,
    ...(options.maxConcurrentRuns !== undefined ? { maxConcurrentRuns: options.maxConcurrentRuns } : {}),
    ...(options.logError ? { logError: options.logError } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const authenticator = new CallerAuthenticator(options.governance, options.callerCacheMs !== undefined ? { cacheMs: options.callerCacheMs } : {});
  const app = buildAgentApp({
    manager,
    authenticator,
    info: { contractId: options.contractId, engine: "duckdb", attestationMode: options.attestation.mode, hostData: options.attestation.hostData, governanceUrl: options.governanceUrl },
    https: { key: tls.privateKeyPem, cert: tls.certificatePem },
    ...(options.logError ? { logError: options.logError } : {}),
  });
  const host = options.host ?? "127.0.0.1";
  try {
    await app.listen({ host, port: options.port ?? 0 });
  } catch (error) {
    store.close();
    parquetWriter.close();
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `https://${host === "::1" ? "[::1]" : host}:${port}`,
    port,
    certificatePem: tls.certificatePem,
    manager,
    async close() {
      await app.close();
      await manager.idle();
      store.close();
      parquetWriter.close();
    },
  };
}
