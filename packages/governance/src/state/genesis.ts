import type { WriteTx } from "@cleanroom/ledger";
import { parseCertificate } from "@cleanroom/crypto";
import type { ServiceIdentity } from "../identity/service-identity.js";
import { encodeText, writeJson } from "./json-state.js";
import { Maps, SINGLE_KEY } from "./maps.js";
import type { StoredMemberInfo } from "./members.js";

export interface InitialMember {
  certificatePem: string;
  memberData: Record<string, unknown>;
}

/**
 * The first transaction of a service: its identity, the constitution and the initial members. Initial members start
 * Accepted and activate themselves by acknowledging a state digest, exactly like members added later.
 */
export function writeGenesis(
  tx: WriteTx,
  genesis: { members: InitialMember[]; constitution: string; identity: ServiceIdentity; clock: () => number },
): void {
  writeJson(tx, Maps.serviceInfo, SINGLE_KEY, {
    certificate: genesis.identity.serviceCertificatePem,
    created_at: new Date(genesis.clock()).toISOString(),
  });
  tx.set(Maps.constitution, SINGLE_KEY, encodeText(genesis.constitution));
  for (const member of genesis.members) {
    const cert = parseCertificate(member.certificatePem);
    writeJson(tx, Maps.membersCerts, cert.id, cert.pem);
    writeJson(tx, Maps.membersInfo, cert.id, { status: "Accepted", member_data: member.memberData } satisfies StoredMemberInfo);
  }
}
