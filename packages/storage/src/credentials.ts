import { ClientAssertionCredential, type TokenCredential } from "@azure/identity";
import { AzureBlobSecretCredentialsSchema, S3SecretCredentialsSchema, type Credentials, type Location } from "@cleanroom/protocol";
import { StorageError, messageOf } from "./errors.js";
import type { ConnectionOptions } from "./object-store.js";
import { httpsAgentFor } from "./streams.js";

/** What the clean room (or the CLI) can do to obtain credentials. */
export interface CredentialSource {
  /** The plaintext value of a governance secret released to this workload. */
  releaseSecret(secretId: string): Promise<string>;
  /** An ID token of the consortium's OIDC issuer for `sub`/`aud` (governance-issued, attested). */
  issueToken(request: { sub: string; aud: string }): Promise<string>;
}

/** Credentials after resolution: what a connector actually uses. */
export type ResolvedCredentials =
  | { readonly kind: "none" }
  | { readonly kind: "azure-shared-key"; readonly accountName: string; readonly accountKey: string }
  | { readonly kind: "azure-sas"; readonly sasToken: string }
  | { readonly kind: "azure-token"; readonly credential: TokenCredential }
  | { readonly kind: "s3-static"; readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }
  | { readonly kind: "s3-web-identity"; readonly roleArn: string; readonly stsEndpoint?: string; readonly token: () => Promise<string> };

const SECRET_SHAPES = {
  "azure-blob": '{"accountName": "...", "accountKey": "..."} or {"sasToken": "..."}',
  s3: '{"accessKeyId": "...", "secretAccessKey": "...", "sessionToken"?: "..."}',
} as const;

/**
 * Parses owner-side credentials JSON (the shapes of AzureBlobSecretCredentialsSchema / S3SecretCredentialsSchema)
 * for a location: what a `secret` credential holds, and what the CLI takes when an owner uploads with their own
 * keys. Throws StorageCredentialsInvalid with a message that names the expected shape and never echoes the value.
 */
export function parseSecretCredentials(location: Location, json: string): ResolvedCredentials {
  if (location.kind === "local") throw new StorageError("StorageCredentialsInvalid", "Local locations take no credentials");
  const expected = `expected JSON ${SECRET_SHAPES[location.kind]}`;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // JSON.parse's message quotes the text around the error: that could be the secret itself.
    throw new StorageError("StorageCredentialsInvalid", `The credentials for the ${location.kind} location are not JSON: ${expected}`);
  }
  if (location.kind === "azure-blob") {
    const parsed = AzureBlobSecretCredentialsSchema.safeParse(value);
    if (parsed.success) {
      return "sasToken" in parsed.data
        ? { kind: "azure-sas", sasToken: parsed.data.sasToken.replace(/^\?/, "") }
        : { kind: "azure-shared-key", accountName: parsed.data.accountName, accountKey: parsed.data.accountKey };
    }
    throw wrongShape(location.kind, expected, S3SecretCredentialsSchema.safeParse(value).success ? "s3" : undefined);
  }
  const parsed = S3SecretCredentialsSchema.safeParse(value);
  if (parsed.success) {
    const { accessKeyId, secretAccessKey, sessionToken } = parsed.data;
    return { kind: "s3-static", accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
  }
  throw wrongShape(location.kind, expected, AzureBlobSecretCredentialsSchema.safeParse(value).success ? "azure-blob" : undefined);
}

// Schema issues are not quoted: an unrecognised key's name, or a value in the wrong place, could be the secret.
function wrongShape(kind: string, expected: string, looksLike: string | undefined): StorageError {
  const hint = looksLike ? ` (they have the shape of ${looksLike} credentials)` : "";
  return new StorageError("StorageCredentialsInvalid", `The credentials for the ${kind} location do not have the right shape${hint}: ${expected}`);
}

/**
 * Turns a document's credentials into the ones a connector uses. `secret`: the released secret, parsed as the
 * location kind's credentials JSON. `federation`: for Azure, a ClientAssertionCredential whose client assertion is
 * a fresh token of the consortium's issuer for the document's subject and audience; for S3, AssumeRoleWithWebIdentity
 * with such a token, done by the store when it first needs credentials and again before they expire. `none`: only
 * for local folders. No network I/O happens here except releasing a secret.
 */
export async function resolveCredentials(
  location: Location,
  credentials: Credentials,
  source: CredentialSource,
  options?: ConnectionOptions,
): Promise<ResolvedCredentials> {
  if (location.kind === "local" || credentials.kind === "none") {
    if (location.kind === "local" && credentials.kind === "none") return { kind: "none" };
    throw new StorageError(
      "StorageCredentialsInvalid",
      location.kind === "local" ? "Local locations take credentials {kind: none}" : `${location.kind} locations need secret or federation credentials`,
    );
  }
  if (credentials.kind === "secret") return parseSecretCredentials(location, await source.releaseSecret(credentials.secretId));

  const { subject, audience } = credentials;
  const token = () => issue(source, subject, audience);
  if (location.kind === "azure-blob") {
    const { tenantId, clientId, authorityHost } = credentials;
    if (tenantId === undefined || clientId === undefined) {
      throw new StorageError("StorageCredentialsInvalid", "Federation with an azure-blob location needs tenantId and clientId");
    }
    const agent = httpsAgentFor(options);
    const credential = new ClientAssertionCredential(tenantId, clientId, token, {
      ...(authorityHost === undefined
        ? {}
        : // The accepted document names the authority, so MSAL need not ask login.microsoftonline.com whether it exists.
          { authorityHost, disableInstanceDiscovery: true }),
      ...(agent ? { agent } : {}),
    });
    return { kind: "azure-token", credential };
  }
  if (credentials.roleArn === undefined) throw new StorageError("StorageCredentialsInvalid", "Federation with an s3 location needs roleArn");
  const stsEndpoint = credentials.stsEndpoint ?? location.endpoint;
  return { kind: "s3-web-identity", roleArn: credentials.roleArn, ...(stsEndpoint === undefined ? {} : { stsEndpoint }), token };
}

async function issue(source: CredentialSource, sub: string, aud: string): Promise<string> {
  try {
    return await source.issueToken({ sub, aud });
  } catch (error) {
    throw new StorageError("StorageAccessDenied", `No token of the consortium's issuer for ${sub} (audience ${aud}): ${messageOf(error)}`, { cause: error });
  }
}
