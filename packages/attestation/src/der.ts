import { AttestationError } from "./errors.js";

// Just enough DER to read the primitive values AMD puts in VCEK extensions. Anything unexpected throws.

interface Tlv {
  tag: number;
  value: Uint8Array;
  end: number;
}

function readTlv(bytes: Uint8Array, offset: number): Tlv {
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  if (tag === undefined || length === undefined) throw new AttestationError("VcekExtension", "Truncated DER value.");
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3) throw new AttestationError("VcekExtension", "Unsupported DER length.");
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = bytes[start + i];
      if (byte === undefined) throw new AttestationError("VcekExtension", "Truncated DER length.");
      length = length * 256 + byte;
    }
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new AttestationError("VcekExtension", "Truncated DER value.");
  return { tag, value: bytes.subarray(start, end), end };
}

function readWhole(bytes: Uint8Array, tag: number, what: string): Uint8Array {
  const tlv = readTlv(bytes, 0);
  if (tlv.tag !== tag) throw new AttestationError("VcekExtension", `${what}: expected DER tag ${tag}, got ${tlv.tag}.`);
  if (tlv.end !== bytes.length) throw new AttestationError("VcekExtension", `${what}: trailing bytes after the value.`);
  return tlv.value;
}

/** A DER INTEGER that must be non-negative and fit in 32 bits. */
export function derUnsignedInteger(bytes: Uint8Array, what: string): number {
  const value = readWhole(bytes, 0x02, what);
  if (value.length === 0 || value.length > 5 || ((value[0] ?? 0) & 0x80) !== 0) {
    throw new AttestationError("VcekExtension", `${what}: not a small non-negative INTEGER.`);
  }
  let result = 0;
  for (const byte of value) result = result * 256 + byte;
  if (result > 0xffff_ffff) throw new AttestationError("VcekExtension", `${what}: INTEGER out of range.`);
  return result;
}

/** A DER IA5String, ASCII only. */
export function derIa5String(bytes: Uint8Array, what: string): string {
  const value = readWhole(bytes, 0x16, what);
  if (value.some((byte) => byte > 0x7f)) throw new AttestationError("VcekExtension", `${what}: not ASCII.`);
  return Buffer.from(value).toString("ascii");
}

/** A DER OCTET STRING of exactly `length` bytes. */
export function derOctetString(bytes: Uint8Array, length: number, what: string): Uint8Array {
  const value = readWhole(bytes, 0x04, what);
  if (value.length !== length) throw new AttestationError("VcekExtension", `${what}: expected ${length} bytes.`);
  return value;
}
