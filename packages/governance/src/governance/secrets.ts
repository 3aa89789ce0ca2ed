import type { StateReader, WriteTx } from "@cleanroom/ledger";
import { ApiError, CLEAN_ROOM_SECRET_OWNER, MAX_SECRET_LENGTH, type CleanRoomIdentity, type Identity } from "@cleanroom/protocol";
import { seal, unseal, type SealedValue } from "../secrets/sealed-values.js";
import { contractExists } from "../state/contracts.js";
import { readJson, writeJson } from "../state/json-state.js";
import { secretsMap } from "../state/maps.js";
import { recordGovernanceEvent } from "./audit-events.js";

/** The service's secrets key, as held in its identity. */
export interface SecretsKey {
  key: Buffer;
  keyId: string;
}

/** What a sealed value is bound to: moving it to another secret's place in the ledger makes it unreadable. */
function binding(contractId: string, secretId: string): string {
  return `cleanroom-secret\0${contractId}\0${secretId}`;
}

/**
 * The owner prefix of a writer's secrets: its id, or `cleanroom` for attested clean rooms (reference §4.2). A user
 * whose id is `cleanroom` (a JWT oid can be) would share the clean rooms' secrets, so it may not write any.
 */
function ownerPrefix(writer: Identity | CleanRoomIdentity): string {
  if (writer.kind === "cleanroom") return CLEAN_ROOM_SECRET_OWNER;
  if (writer.id === CLEAN_ROOM_SECRET_OWNER) {
    throw new ApiError("CallerNotAuthorized", `The owner id '${CLEAN_ROOM_SECRET_OWNER}' is reserved for secrets written by attested clean rooms.`);
  }
  return writer.id;
}

/**
 * `PUT /app/contracts/{c}/secrets/{name}`: stores the value sealed, under an id prefixed with the writer's so that
 * parties cannot overwrite each other's secrets (reference §4.2: `<owner>_<name>`). Returns the secret id.
 */
export function putSecret(
  tx: WriteTx,
  clock: () => number,
  key: SecretsKey,
  writer: Identity | CleanRoomIdentity,
  contractId: string,
  name: string,
  value: string | undefined,
): string {
  if (value === undefined || value.length === 0) throw new ApiError("ValueMissing", "The request body has no secret value.");
  if (value.length > MAX_SECRET_LENGTH) {
    throw new ApiError("ValueTooLarge", `The secret value is ${value.length} characters long; the maximum is ${MAX_SECRET_LENGTH}.`);
  }
  if (!contractExists(tx, contractId)) throw new ApiError("ContractNotFound", `Contract ${contractId} does not exist.`);
  const secretId = `${ownerPrefix(writer)}_${name}`;
  writeJson(tx, secretsMap(contractId), secretId, seal(key.key, key.keyId, binding(contractId, secretId), value));
  recordGovernanceEvent(tx, clock, contractId, "contract.secret.set", { secretId }, writer);
  return secretId;
}

/** The ids of the contract's secrets (never their values). */
export function listSecrets(state: StateReader, contractId: string): Array<{ secretId: string }> {
  const ids: Array<{ secretId: string }> = [];
  state.forEach(secretsMap(contractId), (secretId) => ids.push({ secretId }));
  return ids;
}

/** The plaintext of a secret, for release to an attested workload; undefined when there is no such secret. */
export function openSecret(state: StateReader, key: SecretsKey, contractId: string, secretId: string): string | undefined {
  const sealed = readJson<SealedValue>(state, secretsMap(contractId), secretId);
  return sealed === undefined ? undefined : unseal(key.key, key.keyId, binding(contractId, secretId), sealed);
}
