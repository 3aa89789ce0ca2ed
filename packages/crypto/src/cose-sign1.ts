import { sign, verify, type KeyObject } from "node:crypto";
import { Decoder, Encoder, Tag } from "cbor-x";

/** COSE algorithm identifier for ECDSA P-384 with SHA-384 (RFC 9053). The only one Cleanroom accepts. */
export const COSE_ALG_ES384 = -35;
/** COSE header labels (RFC 9052). */
export const COSE_HEADER_ALG = 1;
export const COSE_HEADER_KID = 4;
const COSE_SIGN1_TAG = 18;
const ES384_SIGNATURE_BYTES = 96;

export type CoseHeaderMap = Map<number | string, unknown>;

/** A decoded COSE_Sign1 message with an embedded payload. `protectedBytes` are the exact bytes that were signed. */
export interface CoseSign1 {
  protectedBytes: Uint8Array;
  protectedHeader: CoseHeaderMap;
  unprotectedHeader: CoseHeaderMap;
  payload: Uint8Array;
  signature: Uint8Array;
}

/** Raised for any input that is not a well-formed COSE_Sign1 of the shape Cleanroom accepts. */
export class CoseFormatError extends Error {
  override readonly name = "CoseFormatError";
}

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false, variableMapSize: true });

/** CBOR-encodes a value with definite lengths and no extension tags (what COSE signing needs). */
export function cborEncode(value: unknown): Buffer {
  return encoder.encode(value);
}

/** Decodes CBOR strictly: trailing bytes or truncated input raise an error. */
export function cborDecode(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/**
 * Decodes a COSE_Sign1 message (tagged 18 or untagged). Narrower than RFC 9052 on purpose: the payload must be
 * embedded, headers must be maps, and the protected header must decode to a map with no duplicate labels.
 */
export function decodeCoseSign1(bytes: Uint8Array): CoseSign1 {
  let outer: unknown;
  try {
    outer = cborDecode(bytes);
  } catch (error) {
    throw new CoseFormatError(`Body is not valid CBOR: ${(error as Error).message}.`);
  }
  if (outer instanceof Tag) {
    if (outer.tag !== COSE_SIGN1_TAG) throw new CoseFormatError(`Unexpected CBOR tag ${outer.tag}; a COSE_Sign1 is tag 18.`);
    outer = outer.value;
  }
  if (!Array.isArray(outer) || outer.length !== 4) {
    throw new CoseFormatError("A COSE_Sign1 message is a CBOR array of four elements.");
  }
  const [protectedBytes, unprotectedHeader, payload, signature] = outer as unknown[];
  if (!isBytes(protectedBytes)) throw new CoseFormatError("The protected header must be a byte string.");
  if (!(unprotectedHeader instanceof Map)) throw new CoseFormatError("The unprotected header must be a map.");
  if (payload === null) throw new CoseFormatError("Detached payloads are not accepted.");
  if (!isBytes(payload)) throw new CoseFormatError("The payload must be a byte string.");
  if (!isBytes(signature)) throw new CoseFormatError("The signature must be a byte string.");
  let protectedHeader: unknown;
  try {
    protectedHeader = protectedBytes.length === 0 ? new Map() : cborDecode(protectedBytes);
  } catch (error) {
    throw new CoseFormatError(`The protected header is not valid CBOR: ${(error as Error).message}.`);
  }
  if (!(protectedHeader instanceof Map)) throw new CoseFormatError("The protected header must encode a map.");
  return {
    protectedBytes,
    protectedHeader: protectedHeader as CoseHeaderMap,
    unprotectedHeader: unprotectedHeader as CoseHeaderMap,
    payload,
    signature,
  };
}

function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Buffer {
  return cborEncode(["Signature1", Buffer.from(protectedBytes), Buffer.alloc(0), Buffer.from(payload)]);
}

/** The bytes a COSE_Sign1 signature covers (the Sig_structure), for verifying elsewhere (e.g. another thread). */
export function coseToBeSigned(message: CoseSign1): Buffer {
  return sigStructure(message.protectedBytes, message.payload);
}

/** Signs `payload` as a tagged COSE_Sign1 with ES384. `protectedHeader` gets `alg` added first if absent. */
export function encodeCoseSign1(protectedHeader: CoseHeaderMap, payload: Uint8Array, privateKey: KeyObject): Buffer {
  const header: CoseHeaderMap = new Map([[COSE_HEADER_ALG, COSE_ALG_ES384]]);
  for (const [label, value] of protectedHeader) header.set(label, value);
  if (header.get(COSE_HEADER_ALG) !== COSE_ALG_ES384) throw new Error("Only ES384 (-35) COSE signatures are produced.");
  const protectedBytes = cborEncode(header);
  const signature = sign("sha384", sigStructure(protectedBytes, payload), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return cborEncode(new Tag([protectedBytes, new Map(), Buffer.from(payload), signature], COSE_SIGN1_TAG));
}

/** Verifies an ES384 COSE_Sign1 signature with `publicKey`. The caller must have checked `alg` is ES384. */
export function verifyCoseSign1(message: CoseSign1, publicKey: KeyObject): boolean {
  if (message.signature.length !== ES384_SIGNATURE_BYTES) return false;
  return verify(
    "sha384",
    sigStructure(message.protectedBytes, message.payload),
    { key: publicKey, dsaEncoding: "ieee-p1363" },
    message.signature,
  );
}
