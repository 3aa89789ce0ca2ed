import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { unwrapWithRsaKey } from "@cleanroom/crypto";

/**
 * The workload's key pair: RSA-2048, generated in memory when the runtime starts and never written anywhere. Its
 * public PEM is bound into the attestation's report data, so the governance service wraps secrets and tokens to it
 * and can check that events were signed by the attested workload.
 */
export class WorkloadKey {
  readonly publicKeyPem: string;
  readonly #privateKey: KeyObject;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    this.publicKeyPem = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  }

  /** A fresh ephemeral key. */
  static generate(): WorkloadKey {
    return new WorkloadKey(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey);
  }

  /** A given key: only for the replayed test vector, whose report is bound to a published key. */
  static fromPem(privateKeyPem: string): WorkloadKey {
    const key = createPrivateKey(privateKeyPem);
    if (key.asymmetricKeyType !== "rsa") throw new Error("The workload key must be an RSA key.");
    return new WorkloadKey(key);
  }

  /** The public key as the governance service takes it: base64 of the PEM text. */
  get publicKeyBase64(): string {
    return Buffer.from(this.publicKeyPem, "utf8").toString("base64");
  }

  /** Undoes CKM_RSA_AES_KEY_WRAP of a value the governance service wrapped to this key. */
  unwrap(wrappedBase64: string): Buffer {
    return unwrapWithRsaKey(this.#privateKey, Buffer.from(wrappedBase64, "base64"));
  }

  /** RSA-PSS, SHA-256, salt 32 over `data`: the signature the governance service checks on signed payloads. */
  sign(data: Uint8Array): Buffer {
    return sign("sha256", data, { key: this.#privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  }
}
