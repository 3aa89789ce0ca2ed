import { createHash } from "node:crypto";
import {
  CoseFormatError,
  coseToBeSigned,
  parseCertificate,
  parseGovernanceMessage,
  type GovMessageHeaders,
  type GovMessageType,
} from "@cleanroom/crypto";
import type { StateReader, WriteTx } from "@cleanroom/ledger";
import { ApiError } from "@cleanroom/protocol";
import { getMember } from "../state/members.js";
import { Maps } from "../state/maps.js";
import type { SignatureVerifier } from "./signature-pool.js";

/** A governance request whose signature verified against a registered member's certificate. */
export interface VerifiedRequest {
  memberId: string;
  /** The certificate the signature verified with: re-checked inside the transaction. */
  certificatePem: string;
  headers: GovMessageHeaders;
  payload: Uint8Array;
  /** SHA-256 of the signed content and the low-S form of the signature: the replay-protection key. */
  digest: string;
  /** SHA-256 of the whole request body: the proposal id of a proposal. */
  bodyDigest: string;
}

const P384_ORDER = BigInt("0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973");
const HALF_ORDER = P384_ORDER >> 1n;

/**
 * The signature with s replaced by min(s, n - s). ECDSA signatures are malleable: (r, n - s) is valid whenever
 * (r, s) is, so replay detection keyed on raw signature bytes could be bypassed. Keying on the low-S form catches
 * that, while a fresh signature over the same content (a deliberate repeat by the signer) stays a new request.
 */
function lowS(signature: Uint8Array): Uint8Array {
  if (signature.length !== 96) return signature;
  const s = BigInt(`0x${Buffer.from(signature.subarray(48)).toString("hex")}`);
  if (s <= HALF_ORDER) return signature;
  const low = Buffer.from((P384_ORDER - s).toString(16).padStart(96, "0"), "hex");
  return Buffer.concat([signature.subarray(0, 48), low]);
}

export interface SignedRequestPolicy {
  /** How old `created_at` may be. */
  maxAgeSeconds: number;
  /** How far ahead of the service clock `created_at` may be. */
  maxFutureSeconds: number;
  clock: () => number;
}

export interface Expectation {
  type: GovMessageType;
  proposalId?: string;
  memberId?: string;
}

/**
 * Verifies COSE_Sign1 governance requests: decoding and header checks, signer lookup, ES384 signature, message
 * type, path/header consistency and the created_at window. What depends on state that can change between
 * verification and execution (the member's status, replays) is checked inside the transaction by `admit`.
 */
export class SignedRequestVerifier {
  private readonly keys = new Map<string, { pem: string; spki: Uint8Array }>();

  constructor(
    private readonly policy: SignedRequestPolicy,
    private readonly signatures: SignatureVerifier,
  ) {}

  private publicKey(memberId: string, pem: string): Uint8Array {
    const cached = this.keys.get(memberId);
    if (cached?.pem === pem) return cached.spki;
    const spki = parseCertificate(pem).publicKey.export({ type: "spki", format: "der" });
    this.keys.set(memberId, { pem, spki });
    return spki;
  }

  async verify(state: StateReader, body: Uint8Array, expected: Expectation): Promise<VerifiedRequest> {
    let message;
    try {
      message = parseGovernanceMessage(body);
    } catch (error) {
      if (error instanceof CoseFormatError) throw new ApiError("InvalidCoseSign1", error.message);
      throw error;
    }
    const { headers, cose } = message;
    const member = getMember(state, headers.kid);
    if (!member) throw new ApiError("UnknownSigner", `The signer ${headers.kid} is not a registered member.`);
    const publicKey = this.publicKey(member.id, member.certificatePem);
    if (!(await this.signatures.verify(coseToBeSigned(cose), cose.signature, publicKey))) {
      throw new ApiError("InvalidSignature", `The signature does not verify with member ${member.id}'s certificate.`);
    }
    if (headers.type !== expected.type) {
      throw new ApiError("MessageTypeMismatch", `This endpoint takes a '${expected.type}' message, not '${headers.type}'.`);
    }
    if (expected.proposalId !== undefined && headers.proposalId !== expected.proposalId) {
      throw new ApiError("ProposalIdMismatch", `The signed proposal id ${headers.proposalId ?? "(none)"} is not ${expected.proposalId}.`);
    }
    if (expected.memberId !== undefined && expected.memberId !== member.id) {
      throw new ApiError("MemberIdMismatch", `The path names member ${expected.memberId} but the request is signed by ${member.id}.`);
    }
    const now = Math.floor(this.policy.clock() / 1000);
    if (headers.createdAt < now - this.policy.maxAgeSeconds || headers.createdAt > now + this.policy.maxFutureSeconds) {
      throw new ApiError(
        "CreatedAtOutOfRange",
        `created_at ${headers.createdAt} is outside the accepted window [${now - this.policy.maxAgeSeconds}, ${now + this.policy.maxFutureSeconds}] (service time ${now}).`,
      );
    }
    const digest = createHash("sha256").update(cose.protectedBytes).update(cose.payload).update(lowS(cose.signature)).digest("hex");
    const bodyDigest = createHash("sha256").update(body).digest("hex");
    return { memberId: member.id, certificatePem: member.certificatePem, headers, payload: cose.payload, digest, bodyDigest };
  }
}

/**
 * Replay protection. Every accepted signed request's content digest is recorded in the ledger with its
 * created_at; a second submission inside the created_at window is refused, and requests older than the window are
 * refused by the verifier, so the record only needs to cover the window. Expired records are pruned a few at a
 * time by later transactions.
 */
export class ReplayGuard {
  private static readonly PRUNE_PER_TX = 16;
  private queue: Array<{ digest: string; createdAt: number }> = [];

  constructor(
    state: StateReader,
    private readonly policy: SignedRequestPolicy,
  ) {
    state.forEach(Maps.recentRequests, (digest, value) => {
      this.queue.push({ digest, createdAt: Number(new TextDecoder().decode(value)) });
    });
    this.queue.sort((a, b) => a.createdAt - b.createdAt);
  }

  record(tx: WriteTx, request: VerifiedRequest): void {
    if (tx.has(Maps.recentRequests, request.digest)) {
      throw new ApiError("RequestReplayed", "This signed request was already processed; sign a new one.");
    }
    tx.set(Maps.recentRequests, request.digest, new TextEncoder().encode(String(request.headers.createdAt)));
    this.prune(tx);
    this.insert({ digest: request.digest, createdAt: request.headers.createdAt });
  }

  private insert(entry: { digest: string; createdAt: number }): void {
    // created_at is nearly monotonic, so insertion from the back is O(1) in practice.
    let index = this.queue.length;
    while (index > 0 && (this.queue[index - 1]?.createdAt ?? 0) > entry.createdAt) index--;
    this.queue.splice(index, 0, entry);
  }

  private prune(tx: WriteTx): void {
    const horizon = Math.floor(this.policy.clock() / 1000) - this.policy.maxAgeSeconds - 1;
    let pruned = 0;
    while (pruned < ReplayGuard.PRUNE_PER_TX && (this.queue[0]?.createdAt ?? Infinity) < horizon) {
      const entry = this.queue.shift() as { digest: string };
      if (tx.has(Maps.recentRequests, entry.digest)) tx.delete(Maps.recentRequests, entry.digest);
      pruned++;
    }
  }
}

/**
 * The in-transaction half of authentication: the signer must still be the same registered member (it may have
 * been removed or re-keyed since verification), Active when required, and the request must not be a replay.
 */
export function admit(tx: WriteTx, guard: ReplayGuard, request: VerifiedRequest, options: { requireActive: boolean }): void {
  const member = getMember(tx, request.memberId);
  if (!member || member.certificatePem !== request.certificatePem) {
    throw new ApiError("UnknownSigner", `The signer ${request.memberId} is no longer a registered member.`);
  }
  if (options.requireActive && member.info.status !== "Active") {
    throw new ApiError("MemberNotActive", `Member ${request.memberId} is ${member.info.status}; only Active members may do this.`);
  }
  guard.record(tx, request);
}
