import { createHash, createPublicKey, randomBytes, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEndorsedCertificate, createSelfSignedCertificate, generateP384KeyPair, type KeyPairPem } from "@cleanroom/crypto";

/**
 * The service's identities, as in CCF: a long-lived service key whose self-signed certificate every client pins,
 * and a node key whose certificate the service key endorses. The node key signs ledger Merkle roots and serves TLS.
 */
export interface ServiceIdentity {
  serviceKeyPem: string;
  serviceCertificatePem: string;
  nodeKeyPem: string;
  nodeCertificatePem: string;
  /** Lowercase hex SHA-256 of the node public key (SPKI DER). */
  nodeId: string;
  /** AES-256 key sealing secrets in the ledger (`secrets_key.bin`); never written to the ledger itself. */
  secretsKey: Buffer;
  /** First 16 hex digits of the key's SHA-256: names the key in sealed values, so a rotation can tell them apart. */
  secretsKeyId: string;
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

function writeSecret(path: string, pem: string): void {
  writeFileSync(path, pem, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function publicKeyOf(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: "spki", format: "pem" }).toString();
}

function keyPair(path: string): KeyPairPem {
  if (existsSync(path)) {
    const privateKeyPem = readFileSync(path, "utf8");
    return { privateKeyPem, publicKeyPem: publicKeyOf(privateKeyPem) };
  }
  const pair = generateP384KeyPair();
  writeSecret(path, pair.privateKeyPem);
  return pair;
}

/** The secrets key, created on first start: 32 random bytes, readable only by the service's user. */
function secretsKey(path: string): Buffer {
  if (existsSync(path)) {
    const key = readFileSync(path);
    if (key.length !== 32) throw new Error(`${path} must hold exactly 32 bytes (an AES-256 key); it holds ${key.length}.`);
    return key;
  }
  const key = randomBytes(32);
  // Written aside and renamed: a crash mid-write must never leave a short key that would lock every secret away.
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, key, { mode: 0o600, flush: true });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return key;
}

function nodeCertificateUsable(pem: string, serviceCertificatePem: string, hostnames: string[]): boolean {
  const cert = new X509Certificate(pem);
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  if (!cert.verify(new X509Certificate(serviceCertificatePem).publicKey)) return false;
  return hostnames.every((name) => cert.checkHost(name) !== undefined || cert.checkIP(name) !== undefined);
}

/**
 * Loads the identity from `dir`, creating what is missing on first start. The node certificate is re-issued when
 * it nears expiry or does not cover a configured host name; old signatures stay verifiable because each signature
 * transaction records the certificate it was made with.
 */
export async function loadOrCreateServiceIdentity(dir: string, hostnames: string[]): Promise<ServiceIdentity> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const service = keyPair(join(dir, "service_key.pem"));
  const serviceCertPath = join(dir, "service_cert.pem");
  if (!existsSync(serviceCertPath)) {
    const pem = await createSelfSignedCertificate(service, { commonName: "CCF Service", isCa: true, validityDays: 3650 });
    writeFileSync(serviceCertPath, pem);
  }
  const serviceCertificatePem = readFileSync(serviceCertPath, "utf8");

  const node = keyPair(join(dir, "node_key.pem"));
  const names = [...new Set(["localhost", "127.0.0.1", ...hostnames])];
  const nodeCertPath = join(dir, "node_cert.pem");
  if (!existsSync(nodeCertPath) || !nodeCertificateUsable(readFileSync(nodeCertPath, "utf8"), serviceCertificatePem, names)) {
    const pem = await createEndorsedCertificate(
      node.publicKeyPem,
      { ...service, certificatePem: serviceCertificatePem },
      {
        commonName: "CCF Node",
        validityDays: 365,
        dnsNames: names.filter((name) => !/^[0-9.:]+$/.test(name)),
        ipAddresses: names.filter((name) => /^[0-9.:]+$/.test(name)),
      },
    );
    writeFileSync(nodeCertPath, pem);
  }
  const spki = createPublicKey(node.privateKeyPem).export({ type: "spki", format: "der" });
  const sealing = secretsKey(join(dir, "secrets_key.bin"));
  return {
    secretsKey: sealing,
    secretsKeyId: createHash("sha256").update(sealing).digest("hex").slice(0, 16),
    serviceKeyPem: service.privateKeyPem,
    serviceCertificatePem,
    nodeKeyPem: node.privateKeyPem,
    nodeCertificatePem: readFileSync(nodeCertPath, "utf8"),
    nodeId: createHash("sha256").update(spki).digest("hex"),
  };
}
