/**
 * Ledger map names. Governance maps keep CCF's names so a constitution written for CCF reads the same state; the
 * `public:cleanroom.gov.*` maps are Cleanroom's own bookkeeping and only the service writes them.
 */
export const Maps = {
  membersCerts: "public:ccf.gov.members.certs",
  membersInfo: "public:ccf.gov.members.info",
  membersAcks: "public:ccf.gov.members.acks",
  usersCerts: "public:ccf.gov.users.certs",
  usersInfo: "public:ccf.gov.users.info",
  constitution: "public:ccf.gov.constitution",
  serviceInfo: "public:ccf.gov.service.info",
  /** Raw proposal payloads, kept for ever. */
  proposals: "public:ccf.gov.proposals",
  /** Open proposals only, as in CCF, so that constitutions scanning it stay fast. */
  proposalsInfo: "public:ccf.gov.proposals_info",
  /** Closed proposals: CCF prunes these; Cleanroom keeps every outcome and ballot queryable. */
  closedProposalsInfo: "public:cleanroom.gov.closed_proposals_info",
  /** Digests of recently accepted signed requests (replay protection). */
  recentRequests: "public:cleanroom.gov.recent_requests",
  /** Written by the ledger: signature transactions. */
  signatures: "public:ccf.internal.signatures",
} as const;

/** Single-value maps store their value under this key. */
export const SINGLE_KEY = "0";

/** Maps a constitution's apply() may not write: the service owns them. */
export function isServiceOwnedMap(map: string): boolean {
  return (
    map === Maps.proposals ||
    map === Maps.proposalsInfo ||
    map === Maps.closedProposalsInfo ||
    map === Maps.recentRequests ||
    map === Maps.serviceInfo ||
    map.startsWith("public:ccf.internal.")
  );
}

/** Maps a constitution's apply() may write: governance maps other than the service-owned ones. */
export function isConstitutionWritableMap(map: string): boolean {
  return map.startsWith("public:ccf.gov.") && !isServiceOwnedMap(map);
}
