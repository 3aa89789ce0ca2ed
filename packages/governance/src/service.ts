import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createPrivateKey } from "node:crypto";
import type { AddressInfo } from "node:net";
import { parseCertificate, signDigest } from "@cleanroom/crypto";
import { createAmdChainCache, createUvmEndorsementCache, virtualRootPin } from "@cleanroom/attestation";
import { openLedger, type Ledger } from "@cleanroom/ledger";
import { MemberDataSchema } from "@cleanroom/protocol";
import { JwtAuthenticator } from "./auth/jwt-issuers.js";
import { createSignatureVerifier } from "./auth/signature-pool.js";
import { ReplayGuard, SignedRequestVerifier, type SignedRequestPolicy } from "./auth/signed-requests.js";
import { DEFAULT_CONSTITUTION } from "./constitution/default-constitution.js";
import { ConstitutionEngine } from "./constitution/engine.js";
import { initSandbox } from "./constitution/module-sandbox.js";
import { contractProposalAuditor } from "./governance/audit-events.js";
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from "./constitution/sandbox-types.js";
import { buildApp } from "./http/app.js";
import type { ServiceContext } from "./http/context.js";
import { loadOrCreateServiceIdentity, type ServiceIdentity } from "./identity/service-identity.js";
import { writeGenesis, type InitialMember } from "./state/genesis.js";

export const SERVICE_VERSION = "0.1.0";

/** Options of `startGovernanceService`; everything but `dataDir` has a default. */
export interface GovernanceServiceOptions {
  /** Holds `identity/` (keys and certificates) and `ledger/`. */
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Extra names (DNS or IP) the node's TLS certificate must cover. */
  hostnames?: string[];
  /** Members written by the genesis transaction; required on first start, ignored afterwards. */
  initialMembers?: InitialMember[];
  /** Constitution written by the genesis transaction. */
  constitution?: string;
  sandboxLimits?: Partial<SandboxLimits>;
  /** Window for ccf.gov.msg.created_at. */
  maxRequestAgeSeconds?: number;
  maxRequestFutureSeconds?: number;
  bodyLimitBytes?: number;
  /** Threads verifying request signatures; 0 verifies on the main thread. Default: one per extra core, at least one. */
  verifierThreads?: number;
  signatureEveryTx?: number;
  signatureIntervalMs?: number;
  clock?: () => number;
  /**
   * Development only: accept attestations bound to published test keys (the genuine recorded report of the
   * reference's insecure-virtual mode). Every release to them is marked `replayed-test-vector`.
   */
  insecureVirtualAttestation?: boolean;
  /**
   * Development only, and only with `insecureVirtualAttestation`: root certificates (PEM) of virtual platforms
   * whose reports are accepted (see `createVirtualPlatform`). Every release to them is marked `virtual-platform`.
   */
  virtualPlatformRoots?: readonly string[];
  /** Receives unexpected errors (default: stderr). */
  logError?: (error: unknown) => void;
}

export interface GovernanceService {
  url: string;
  port: number;
  serviceCertificatePem: string;
  identity: ServiceIdentity;
  ledger: Ledger;
  /** Stops accepting requests, makes everything durable and signed, and closes the ledger. */
  close(): Promise<void>;
}

function validateInitialMembers(members: InitialMember[]): void {
  for (const [index, member] of members.entries()) {
    const cert = parseCertificate(member.certificatePem);
    if (!cert.isP384) throw new Error(`Initial member ${index} must have an ECDSA P-384 certificate.`);
    const data = MemberDataSchema.safeParse(member.memberData);
    if (!data.success) throw new Error(`Initial member ${index} has invalid member data: ${data.error.issues[0]?.message ?? "invalid"}.`);
  }
}

/** The pins of the configured virtual platform roots; configuring any without the insecure flag is refused. */
function virtualRootPins(options: GovernanceServiceOptions): string[] {
  const roots = options.virtualPlatformRoots ?? [];
  if (roots.length > 0 && options.insecureVirtualAttestation !== true) {
    throw new Error("Virtual platform roots are accepted only together with insecureVirtualAttestation (development only).");
  }
  return roots.map(virtualRootPin);
}

/**
 * Starts the governance service: loads or creates its identity, opens (or creates, with a genesis transaction) its
 * ledger, and serves HTTPS. Resolves once it is listening.
 */
export async function startGovernanceService(options: GovernanceServiceOptions): Promise<GovernanceService> {
  // Refused settings are refused before anything is opened or created.
  const virtualRoots = virtualRootPins(options);
  const clock = options.clock ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  mkdirSync(options.dataDir, { recursive: true });
  const identity = await loadOrCreateServiceIdentity(join(options.dataDir, "identity"), [host, ...(options.hostnames ?? [])]);
  await initSandbox();

  const nodeKey = createPrivateKey(identity.nodeKeyPem);
  const logError = options.logError ?? ((error: unknown) => process.stderr.write(`governance: ${String((error as Error)?.stack ?? error)}\n`));
  const ledger = openLedger({
    dir: join(options.dataDir, "ledger"),
    signer: { nodeId: identity.nodeId, nodeCertificatePem: identity.nodeCertificatePem, signDigest: (digest) => signDigest(digest, nodeKey) },
    clock,
    ...(options.signatureEveryTx ? { signatureEveryTx: options.signatureEveryTx } : {}),
    ...(options.signatureIntervalMs ? { signatureIntervalMs: options.signatureIntervalMs } : {}),
    onFatal: (error) => {
      // The in-memory state can no longer be trusted; exit so a supervisor restarts from the durable ledger.
      logError(error);
      process.exit(70);
    },
  });

  if (ledger.lastTxId() === null) {
    const members = options.initialMembers ?? [];
    if (members.length === 0) throw new Error("A new service needs at least one initial member.");
    validateInitialMembers(members);
    const genesis = ledger.transact((tx) => writeGenesis(tx, { members, constitution: options.constitution ?? DEFAULT_CONSTITUTION, identity, clock }));
    await genesis.committed;
  }

  const limits = { ...DEFAULT_SANDBOX_LIMITS, ...options.sandboxLimits };
  const policy: SignedRequestPolicy = {
    maxAgeSeconds: options.maxRequestAgeSeconds ?? 300,
    maxFutureSeconds: options.maxRequestFutureSeconds ?? 60,
    clock,
  };
  const engine = new ConstitutionEngine(limits);
  const signatures = createSignatureVerifier(options.verifierThreads);
  const ctx: ServiceContext = {
    ledger,
    engine,
    verifier: new SignedRequestVerifier(policy, signatures),
    replayGuard: new ReplayGuard(ledger, policy),
    lifecycle: { engine, clock, observers: [contractProposalAuditor(clock)] },
    identity,
    jwtAuthenticator: new JwtAuthenticator(ledger, { clock }),
    secrets: { key: identity.secretsKey, keyId: identity.secretsKeyId },
    attestation: {
      insecureVirtualAttestation: options.insecureVirtualAttestation ?? false,
      virtualRoots,
      chainCache: createAmdChainCache(),
      uvmCache: createUvmEndorsementCache(),
      clock,
    },
  };
  const { app } = buildApp(ctx, {
    https: { key: identity.nodeKeyPem, cert: identity.nodeCertificatePem },
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    version: SERVICE_VERSION,
    logError: (error) => logError(error),
  });
  try {
    await app.listen({ host, port: options.port ?? 0 });
  } catch (error) {
    await ledger.close();
    await signatures.close();
    engine.dispose();
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    serviceCertificatePem: identity.serviceCertificatePem,
    identity,
    ledger,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await ledger.close();
        await signatures.close();
        engine.dispose();
      })()),
  };
}
