import { createPrivateKey, type KeyObject } from "node:crypto";
import {
  COSE_ALG_ES384,
  COSE_HEADER_ALG,
  COSE_HEADER_KID,
  CoseFormatError,
  decodeCoseSign1,
  encodeCoseSign1,
  type CoseSign1,
} from "./cose-sign1.js";
import { parseCertificate } from "./certificates.js";

/** CCF governance message types carried in the `ccf.gov.msg.type` protected header. */
export const GOV_MESSAGE_TYPES = [
  "proposal",
  "ballot",
  "withdrawal",
  "ack",
  "state_digest",
  "recovery_share",
  "encrypted_recovery_share",
] as const;
export type GovMessageType = (typeof GOV_MESSAGE_TYPES)[number];

export const HEADER_MSG_TYPE = "ccf.gov.msg.type";
export const HEADER_CREATED_AT = "ccf.gov.msg.created_at";
export const HEADER_PROPOSAL_ID = "ccf.gov.msg.proposal_id";

/** The protected headers of a CCF governance request, checked for type and presence. */
export interface GovMessageHeaders {
  /** Signer id: lowercase hex SHA-256 of the signer's certificate DER. */
  kid: string;
  type: GovMessageType;
  /** Seconds since the Unix epoch, as set by the signer. */
  createdAt: number;
  proposalId?: string;
}

export interface GovMessage {
  cose: CoseSign1;
  headers: GovMessageHeaders;
}

const KID_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Decodes a governance COSE_Sign1 and checks its protected headers the way CCF does: alg ES384, kid the signer's
 * id (byte or text string), a known message type, an integer created_at, and a proposal id for ballots and
 * withdrawals. Signature verification is separate because it needs the signer's registered certificate.
 */
export function parseGovernanceMessage(bytes: Uint8Array): GovMessage {
  const cose = decodeCoseSign1(bytes);
  const h = cose.protectedHeader;
  const alg = h.get(COSE_HEADER_ALG);
  if (alg !== COSE_ALG_ES384) throw new CoseFormatError(`Unsupported COSE algorithm ${String(alg)}; only ES384 (-35) is accepted.`);
  const rawKid = h.get(COSE_HEADER_KID);
  const kid = rawKid instanceof Uint8Array ? Buffer.from(rawKid).toString("latin1") : rawKid;
  if (typeof kid !== "string" || !KID_PATTERN.test(kid)) {
    throw new CoseFormatError("The kid protected header must be the signer's id: 64 lowercase hex characters.");
  }
  const type = h.get(HEADER_MSG_TYPE);
  if (typeof type !== "string" || !(GOV_MESSAGE_TYPES as readonly string[]).includes(type)) {
    throw new CoseFormatError(`The ${HEADER_MSG_TYPE} protected header must be one of ${GOV_MESSAGE_TYPES.join(", ")}.`);
  }
  const createdAt = h.get(HEADER_CREATED_AT);
  const createdAtNumber = typeof createdAt === "bigint" ? Number(createdAt) : createdAt;
  if (typeof createdAtNumber !== "number" || !Number.isSafeInteger(createdAtNumber) || createdAtNumber < 0) {
    throw new CoseFormatError(`The ${HEADER_CREATED_AT} protected header must be a non-negative integer (Unix seconds).`);
  }
  const proposalId = h.get(HEADER_PROPOSAL_ID);
  if (proposalId !== undefined && typeof proposalId !== "string") {
    throw new CoseFormatError(`The ${HEADER_PROPOSAL_ID} protected header must be a text string.`);
  }
  if ((type === "ballot" || type === "withdrawal") && proposalId === undefined) {
    throw new CoseFormatError(`A ${type} must carry the ${HEADER_PROPOSAL_ID} protected header.`);
  }
  const headers: GovMessageHeaders = { kid, type: type as GovMessageType, createdAt: createdAtNumber };
  if (proposalId !== undefined) headers.proposalId = proposalId;
  return { cose, headers };
}

/** What a member needs to sign a governance request. */
export interface GovSigner {
  privateKey: KeyObject | string;
  certificatePem: string;
}

/** Signs a governance request exactly as CCF's `ccf_cose_sign1` tool does (kid as the ASCII bytes of the id). */
export function signGovernanceMessage(
  signer: GovSigner,
  message: { type: GovMessageType; payload: Uint8Array | string; createdAt?: number; proposalId?: string },
): Buffer {
  const id = parseCertificate(signer.certificatePem).id;
  const header = new Map<number | string, unknown>([
    [COSE_HEADER_ALG, COSE_ALG_ES384],
    [COSE_HEADER_KID, Buffer.from(id, "latin1")],
    [HEADER_MSG_TYPE, message.type],
    [HEADER_CREATED_AT, message.createdAt ?? Math.floor(Date.now() / 1000)],
  ]);
  if (message.proposalId !== undefined) header.set(HEADER_PROPOSAL_ID, message.proposalId);
  const key = typeof signer.privateKey === "string" ? createPrivateKey(signer.privateKey) : signer.privateKey;
  const payload = typeof message.payload === "string" ? Buffer.from(message.payload, "utf8") : message.payload;
  return encodeCoseSign1(header, payload, key);
}
