import { check } from "./errors.js";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (whitespace tolerated, padding optional but, when present, complete). Throws otherwise. */
export function decodeBase64Strict(text: string, what: string): Buffer {
  check(typeof text === "string", "MalformedEvidence", `${what} must be a base64 string.`);
  const compact = text.replace(/\s+/g, "");
  const wellFormed =
    BASE64.test(compact) && compact.length % 4 !== 1 && (!compact.includes("=") || compact.length % 4 === 0);
  check(wellFormed, "MalformedEvidence", `${what} is not valid base64.`);
  return Buffer.from(compact, "base64");
}
