import { constants, verify, type KeyObject } from "node:crypto";
import { decodeBase64Strict } from "@cleanroom/attestation";
import { ApiError, parseOrThrow } from "@cleanroom/protocol";
import type { z } from "zod";
import type { DelegateRef } from "../governance/delegates.js";
import { parseWorkloadKey, verifyWorkload, type VerifiedWorkload } from "../governance/secret-release.js";
import { decodeText } from "../state/json-state.js";
import type { ServiceContext } from "./context.js";
import { checkJsonDepth } from "./route-table.js";

/**
 * Signed payloads of attested clean rooms (reference §4.1): `data` is base64 of JSON, and `sign.signature` an
 * RSA-PSS (SHA-256, salt 32) signature over its decoded bytes by `sign.publicKey` (base64 of a PEM). Every signed
 * endpoint — delegate changes, clean-room secrets, attested events — checks them here.
 */

/** What a signed request carries besides its attestation. */
export interface SignedRequest {
  sign?: { signature?: string | undefined; publicKey?: string | undefined } | undefined;
  data?: string | undefined;
}

export interface SignedPayload {
  /** The signing key's PEM as sent: attested events bind exactly this text in their report data. */
  publicKeyPem: string;
  publicKey: KeyObject;
  signature: Buffer;
  /** The decoded `data`: the bytes that are signed. */
  data: Buffer;
}

/** Standard base64 only: Buffer.from would skip any character it does not know, and verify something else. */
function decodeBase64(text: string): Buffer | undefined {
  try {
    return decodeBase64Strict(text, "value");
  } catch {
    return undefined;
  }
}

/** The request's signature, key and data, checked for form before any verification: SignatureMissing, DataMissing. */
export function checkSignedRequest(request: SignedRequest): SignedPayload {
  const signature = decodeBase64(request.sign?.signature ?? "");
  const encodedKey = decodeBase64(request.sign?.publicKey ?? "");
  if (!signature?.length || !encodedKey?.length) {
    throw new ApiError("SignatureMissing", "The request needs sign.signature and sign.publicKey, both base64.");
  }
  const publicKeyPem = encodedKey.toString("utf8");
  const publicKey = parseWorkloadKey(publicKeyPem);
  if (publicKey === undefined) throw new ApiError("SignatureMissing", "sign.publicKey is not base64 of an RSA public key PEM of at least 2048 bits.");
  if (request.data === undefined || request.data.length === 0) throw new ApiError("DataMissing", "The request has no data to sign.");
  const data = decodeBase64(request.data);
  if (data === undefined) throw new ApiError("InvalidInput", "data is not base64.");
  return { publicKeyPem, publicKey, signature, data };
}

/**
 * Verifies the signature, which must be made with `attestedKey`, the key the attestation binds: a signature by any
 * other key says nothing about the workload (the reference accepted any `sign.publicKey` alongside a report bound to
 * `encrypt.publicKey`, so a captured report could carry anybody's payload).
 */
export function verifySignedPayload(payload: SignedPayload, attestedKey: KeyObject): void {
  if (!payload.publicKey.equals(attestedKey)) {
    throw new ApiError("SignatureMismatch", "Signature verification was not successful: sign.publicKey is not the key the attestation binds.");
  }
  let valid: boolean;
  try {
    valid = verify("sha256", payload.data, { key: payload.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, payload.signature);
  } catch {
    // OpenSSL refuses some malformed signatures (e.g. longer than the modulus) outright rather than answering false.
    valid = false;
  }
  if (!valid) throw new ApiError("SignatureMismatch", "Signature verification was not successful.");
}

/**
 * The signed data as JSON of `schema` (InvalidInput otherwise), held to the rules of request bodies: UTF-8, nesting,
 * and no `__proto__` key (which poisons whoever later merges the value into an object). Call it once the signature
 * has verified.
 */
export function signedJson<T>(payload: SignedPayload, schema: z.ZodType<T>): T {
  let text: string;
  let value: unknown;
  try {
    text = decodeText(payload.data);
    value = JSON.parse(text);
  } catch {
    throw new ApiError("InvalidInput", "The signed data is not base64 of UTF-8 JSON.");
  }
  checkJsonDepth(value, "signed data");
  JSON.parse(text, (key, member: unknown) => {
    if (key === "__proto__") throw new ApiError("InvalidInput", "The signed data has a __proto__ key.");
    return member;
  });
  return parseOrThrow(schema, value, "InvalidInput", "signed data");
}

/**
 * The decision half of every signed endpoint: the workload is admitted (the contract's policy, or `delegate`'s)
 * with `boundPem` in its report data, the payload is signed with that key, and the signed data has `schema`'s shape.
 */
export function admitSigned<T>(
  ctx: ServiceContext,
  contractId: string,
  request: { attestation: unknown; boundPem: string; signed: SignedPayload },
  schema: z.ZodType<T>,
  delegate?: DelegateRef,
): { workload: VerifiedWorkload; payload: T } {
  const workload = verifyWorkload(ctx.ledger, ctx.attestation, contractId, request.attestation, request.boundPem, delegate);
  verifySignedPayload(request.signed, workload.publicKey);
  return { workload, payload: signedJson(request.signed, schema) };
}
