import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSelfSignedCertificate, generateP384KeyPair, parseCertificate, type KeyPairPem } from "@cleanroom/crypto";
import { startGovernanceService, type GovernanceService, type GovernanceServiceOptions } from "@cleanroom/governance";
import { GovernanceClient } from "@cleanroom/governance-client";

/** A member identity with a client that signs as it and authenticates TLS with its certificate. */
export interface TestIdentity {
  name: string;
  keys: KeyPairPem;
  certificatePem: string;
  id: string;
  client: GovernanceClient;
}

export async function makeIdentity(name: string): Promise<Omit<TestIdentity, "client">> {
  const keys = generateP384KeyPair();
  const certificatePem = await createSelfSignedCertificate(keys, { commonName: name });
  return { name, keys, certificatePem, id: parseCertificate(certificatePem).id };
}

export interface Consortium {
  service: GovernanceService;
  dataDir: string;
  members: TestIdentity[];
  /** A client with no client certificate. */
  anonymous: GovernanceClient;
  clientFor(identity: Omit<TestIdentity, "client">): GovernanceClient;
  /** Proposes set_member for a new identity, has every given member accept, and activates it. */
  addMember(name: string, voters?: TestIdentity[]): Promise<TestIdentity>;
  /** Like addMember, but the new member stays Accepted (it has not acknowledged). */
  addMemberWithoutActivation(name: string, voters?: TestIdentity[]): Promise<TestIdentity>;
  close(): Promise<void>;
}

export interface ConsortiumOptions {
  members?: string[];
  /** Activate the initial members (default true). */
  activate?: boolean;
  service?: Partial<GovernanceServiceOptions>;
  dataDir?: string;
}

/** Starts a governance service on a free port in a temporary directory with initial members. */
export async function startConsortium(options: ConsortiumOptions = {}): Promise<Consortium> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "cleanroom-gov-"));
  const identities = await Promise.all((options.members ?? ["m0", "m1", "m2"]).map(makeIdentity));
  const service = await startGovernanceService({
    dataDir,
    initialMembers: identities.map((m) => ({ certificatePem: m.certificatePem, memberData: { identifier: m.name, tenantId: "tenant" } })),
    logError: () => undefined,
    ...options.service,
  });
  const clients: GovernanceClient[] = [];
  const clientFor = (identity: Omit<TestIdentity, "client">) => {
    const client = new GovernanceClient({
      url: service.url,
      serviceCertificatePem: service.serviceCertificatePem,
      certificatePem: identity.certificatePem,
      privateKeyPem: identity.keys.privateKeyPem,
    });
    clients.push(client);
    return client;
  };
  const members = identities.map((identity) => ({ ...identity, client: clientFor(identity) }));
  if (options.activate ?? true) for (const m of members) await m.client.activate(m.id);
  const addMemberWithoutActivation = async (name: string, voters: TestIdentity[] = members): Promise<TestIdentity> => {
    const identity = await makeIdentity(name);
    const proposer = voters[0] ?? members[0];
    if (!proposer) throw new Error("no members");
    const { value } = await proposer.client.createProposal({
      actions: [{ name: "set_member", args: { cert: identity.certificatePem, member_data: { identifier: name } } }],
    });
    for (const voter of voters) await voter.client.vote(value.proposalId, voter.id, true);
    return { ...identity, client: clientFor(identity) };
  };
  const anonymous = new GovernanceClient({ url: service.url, serviceCertificatePem: service.serviceCertificatePem });
  clients.push(anonymous);
  return {
    service,
    dataDir,
    members,
    anonymous,
    clientFor,
    async addMember(name, voters = members) {
      const added = await addMemberWithoutActivation(name, voters);
      await added.client.activate(added.id);
      return added;
    },
    addMemberWithoutActivation,
    async close() {
      for (const client of clients) client.close();
      await service.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
