// Cleanroom default constitution.
//
// Evaluated by the governance service in a QuickJS sandbox, with CCF's constitution interface: validate(input),
// resolve(proposal, proposerId, votes), apply(proposal, proposalId), plus the Cleanroom extension
// requiredVoters(proposal, proposerId) that lets the service show who still has to vote. A `set_constitution`
// proposal replaces this whole module.
//
// Voting rule (reference §3.2): a proposal is accepted when every *counted* Active member has voted yes.
// Members holding any role (operator, recoveryOperator, cgsOperator, contractOperator) are not counted, and their
// ballots do not count. Members still in status Accepted (not yet acknowledged) are not counted, except that they
// block contracts: a set_contract proposal stays Open while a counted member has not activated.
//
// Contracts (reference §3.1, §3.3): a "no" from any member vetoes a contract and the other vetoable actions.
// When the contract's data names `metadata.voters.requiredMembers`, only those members decide: ballots of
// others are ignored (yes and no), a "no" from a required member rejects, and all required "yes" accepts.
// Disabling a contract's logging or telemetry is accepted without votes.

const MEMBERS_CERTS = "public:ccf.gov.members.certs";
const MEMBERS_INFO = "public:ccf.gov.members.info";
const MEMBERS_ACKS = "public:ccf.gov.members.acks";
const USERS_CERTS = "public:ccf.gov.users.certs";
const USERS_INFO = "public:ccf.gov.users.info";
const CONSTITUTION = "public:ccf.gov.constitution";
const PROPOSALS = "public:ccf.gov.proposals";
const PROPOSALS_INFO = "public:ccf.gov.proposals_info";
const USER_IDENTITIES = "public:ccf.gov.user_identities";
const USER_INVITATIONS = "public:ccf.gov.user_invitations";
const ACCEPTED_USER_INVITATIONS = "public:ccf.gov.accepted_user_invitations";
// Written by the service when a user accepts an invitation; the constitution only reads it.
const USER_INVITATIONS_INFO = "public:user_invitations_info";
const JWT_ISSUERS = "public:ccf.gov.jwt.issuers";
const JWT_KEYS = "public:ccf.gov.jwt.public_signing_keys";
const DRAFT_CONTRACTS = "public:contracts";
const ACCEPTED_CONTRACTS = "public:ccf.gov.accepted_contracts";
const CONTRACT_OPTION_STATUS = {
  logging: "public:ccf.gov.contracts_logging_status",
  telemetry: "public:ccf.gov.contracts_telemetry_status",
};
const CLEAN_ROOM_POLICIES = "public:ccf.gov.cleanroom_policies";
const OIDC_ISSUER = "public:ccf.gov.oidc_issuer";
const RESOURCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];
const INVITATION_CLAIMS = ["preferred_username", "email", "appid", "tid", "sub", "upn"];
const ACCOUNT_TYPES = ["microsoft"];
const MAX_INVITATION_CLAIM_VALUES = 64;

// Actions that any "no" vote rejects (reference §3.2 step 2).
const VETOABLE = [
  "set_contract",
  "set_clean_room_policy",
  "set_contract_runtime_options_enable_logging",
  "set_contract_runtime_options_enable_telemetry",
];
// Actions accepted without votes (reference §3.2 step 6): turning data flows off is never blocked.
const AUTO_ACCEPTED = ["set_contract_runtime_options_disable_logging", "set_contract_runtime_options_disable_telemetry"];

const ROLES = ["operator", "recoveryOperator", "cgsOperator", "contractOperator"];
const ID_PATTERN = /^[0-9a-f]{64}$/;
const MAX_DATA_BYTES = 16 * 1024;

// Reads go through cleanroom.kv (one host call each); writes use CCF's ccf.kv API.
function getJson(map, key) {
  return cleanroom.kv.getJson(map, key);
}

function setJson(map, key, value) {
  ccf.kv[map].set(ccf.strToBuf(key), ccf.jsonCompatibleToBuf(value));
}

function remove(map, key) {
  ccf.kv[map].delete(ccf.strToBuf(key));
}

// ---------------------------------------------------------------------------------------------------------------
// Argument checks. Each throws an Error whose message names the offending field.

function checkPlainObject(value, field) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${field} must be an object`);
  }
}

function checkOnlyKeys(value, allowed, field) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new Error(`${field} has unknown field '${key}' (allowed: ${allowed.join(", ")})`);
  }
}

function checkString(value, field, { min = 1, max = 256 } = {}) {
  if (typeof value !== "string") throw new Error(`${field} must be a string`);
  if (value.length < min || value.length > max) throw new Error(`${field} must have ${min} to ${max} characters`);
}

function checkId(value, field) {
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw new Error(`${field} must be an id: 64 lowercase hex characters`);
  }
}

function checkSize(value, field) {
  if (JSON.stringify(value).length > MAX_DATA_BYTES) throw new Error(`${field} must be at most ${MAX_DATA_BYTES} bytes of JSON`);
}

function checkCertificate(pem, field) {
  checkString(pem, field, { max: 16 * 1024 });
  let info;
  try {
    info = cleanroom.certificateInfo(pem);
  } catch (error) {
    throw new Error(`${field} is not a single PEM X.509 certificate: ${error.message}`);
  }
  if (!info.isP384) throw new Error(`${field} must carry an ECDSA P-384 public key`);
  if (Date.parse(info.notAfter) < Date.now()) throw new Error(`${field} expired on ${info.notAfter}`);
  return info;
}

function checkMemberData(data, field) {
  checkPlainObject(data, field);
  checkSize(data, field);
  checkString(data.identifier, `${field}.identifier`);
  if (data.tenantId !== undefined) checkString(data.tenantId, `${field}.tenantId`);
  if (data.roles !== undefined) {
    if (!Array.isArray(data.roles)) throw new Error(`${field}.roles must be an array`);
    for (const role of data.roles) {
      if (!ROLES.includes(role)) throw new Error(`${field}.roles has unknown role '${role}' (known: ${ROLES.join(", ")})`);
    }
    if (new Set(data.roles).size !== data.roles.length) throw new Error(`${field}.roles has duplicates`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Members and the voting population.

function memberInfo(memberId) {
  return getJson(MEMBERS_INFO, memberId);
}

function hasRole(info) {
  const roles = info.member_data && info.member_data.roles;
  return Array.isArray(roles) && roles.length > 0;
}

/** Members without a role in the given status, sorted by id. */
function countedMembers(status) {
  return cleanroom.kv
    .entriesJson(MEMBERS_INFO)
    .filter(([, info]) => info.status === status && !hasRole(info))
    .map(([id]) => id);
}

/** Active members without a role: the members whose yes votes a proposal needs. */
function countedActiveMembers() {
  return countedMembers("Active");
}

function memberIdArg(args, field) {
  if (args.member_id !== undefined) {
    checkId(args.member_id, `${field}.member_id`);
    return args.member_id;
  }
  checkCertificate(args.cert, `${field}.cert`);
  return ccf.pemToId(args.cert);
}

function requireMember(memberId) {
  const info = memberInfo(memberId);
  if (info === undefined) throw new Error(`member ${memberId} does not exist`);
  return info;
}

/** Refuses a change that would leave nobody able to accept proposals: governance would be locked for good. */
function assertVotersRemain() {
  if (countedActiveMembers().length === 0) {
    throw new Error("the change would leave no Active member without a role, so no proposal could ever pass");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Contracts.

function checkResourceId(value, field) {
  if (typeof value !== "string" || !RESOURCE_ID_PATTERN.test(value)) {
    throw new Error(`${field} must be 1-128 characters: letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

/**
 * `data.metadata.voters.requiredMembers` of a contract's data, or undefined when not set. `data` may be JSON text
 * (the CLI passes `--data` through), which is parsed; anything that is not an object has no required members.
 */
function requiredMembersOf(data) {
  let value = data;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const metadata = value.metadata;
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const voters = metadata.voters;
  if (typeof voters !== "object" || voters === null) return undefined;
  return voters.requiredMembers;
}

/** A non-empty list of unique ids of existing members (Accepted or Active). Roles do not exclude a listed member. */
function checkRequiredMembers(value, field) {
  if (!Array.isArray(value) || value.length === 0) throw new Error(`${field} must be a non-empty array of member ids`);
  if (new Set(value).size !== value.length) throw new Error(`${field} has duplicates`);
  for (const [index, id] of value.entries()) {
    checkId(id, `${field}[${index}]`);
    if (memberInfo(id) === undefined) throw new Error(`${field}[${index}]: member ${id} does not exist`);
  }
}

function acceptedContract(contractId) {
  return getJson(ACCEPTED_CONTRACTS, contractId);
}

function requireAcceptedContract(contractId, actionName) {
  if (acceptedContract(contractId) === undefined) {
    throw new Error(`${actionName} can only be proposed once contract '${contractId}' has been accepted.`);
  }
}

/** Open proposals with a set_contract action for the contract (the proposal being resolved included). */
function openContractProposalCount(contractId) {
  let count = 0;
  for (const [proposalId] of cleanroom.kv.entriesJson(PROPOSALS_INFO)) {
    const proposal = getJson(PROPOSALS, proposalId);
    const proposalActions = proposal && Array.isArray(proposal.actions) ? proposal.actions : [];
    if (proposalActions.some((a) => a.name === "set_contract" && a.args && a.args.contractId === contractId)) count++;
  }
  return count;
}

function contractRuntimeOptionAction(option, status) {
  const map = CONTRACT_OPTION_STATUS[option];
  return {
    validate(args) {
      checkPlainObject(args, "args");
      checkOnlyKeys(args, ["contractId"], "args");
      checkResourceId(args.contractId, "args.contractId");
      requireAcceptedContract(args.contractId, `set_contract_runtime_options_${status === "enabled" ? "enable" : "disable"}_${option}`);
    },
    apply(args) {
      if (acceptedContract(args.contractId) === undefined) throw new Error(`contract '${args.contractId}' is not accepted`);
      setJson(map, args.contractId, status);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Clean-room policies: per contract and policy type, claim → allowed values. An attested workload matches when,
// for every claim of the policy, its own value equals one of the allowed values (reference §4.1). Which claims a
// policy may name (only those the verifiers produce) and how values are added and removed are the service's rules,
// reached through cleanroom.policyClaims: the service applies the same rules to the delegate policies it keeps.

function checkPolicyArgs(args) {
  checkPlainObject(args, "args");
  checkOnlyKeys(args, ["contractId", "type", "policyType", "claims"], "args");
  checkResourceId(args.contractId, "args.contractId");
  if (args.type !== "add" && args.type !== "remove") throw new Error("args.type must be add or remove");
  return cleanroom.policyClaims.check(args.policyType ?? "snp-caci", args.claims, "args.");
}

/** The policies after adding or removing values of one policy type. */
function changedPolicy(current, args, policyType) {
  const policy = cleanroom.policyClaims.change(current[policyType] ?? {}, args.type, args.claims, "args.", `the ${policyType} policy`);
  const next = { ...current };
  if (Object.keys(policy).length === 0) delete next[policyType];
  else next[policyType] = policy;
  return next;
}

/** The OIDC issuer's settings; throws unless it is enabled (rotation and URL changes need an enabled issuer). */
function enabledOidcIssuer() {
  const current = getJson(OIDC_ISSUER, "0");
  if (current === undefined || !current.enabled) throw new Error("the OIDC issuer is not enabled");
  return current;
}

// ---------------------------------------------------------------------------------------------------------------
// Users by JWT and their issuers.

function checkHttpsUrl(value, field) {
  checkString(value, field, { max: 2048 });
  if (!/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(value)) throw new Error(`${field} must be an https URL without query or fragment`);
}

function checkJwks(jwks, field) {
  checkPlainObject(jwks, field);
  checkOnlyKeys(jwks, ["keys"], field);
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0 || jwks.keys.length > 32) throw new Error(`${field}.keys must hold 1 to 32 keys`);
  for (const [index, key] of jwks.keys.entries()) {
    const at = `${field}.keys[${index}]`;
    checkPlainObject(key, at);
    if (key.kty !== "RSA" && key.kty !== "EC") throw new Error(`${at}.kty must be RSA or EC`);
    checkString(key.kid, `${at}.kid`);
    if (key.alg !== undefined && !JWT_ALGORITHMS.includes(key.alg)) throw new Error(`${at}.alg must be one of ${JWT_ALGORITHMS.join(", ")}`);
    for (const secret of ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]) {
      if (key[secret] !== undefined) throw new Error(`${at} must be a public key (it has '${secret}')`);
    }
  }
  checkSize(jwks, field);
}

function checkUserIdentityId(value, field) {
  if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(value)) {
    throw new Error(`${field} must be the user's oid: 1-128 characters, letters, digits, '.', '_' or '-'`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// User invitations (reference §2.8, §3.6). The consortium invites a user by the claims its token must carry
// (USER_INVITATIONS); the user accepts with such a token and the service records who accepted
// (USER_INVITATIONS_INFO, bound to the invitation's version so that changing or re-creating the invitation voids an
// earlier acceptance); `set_user_identity` naming the invitation registers exactly that user and finalizes it
// (ACCEPTED_USER_INVITATIONS).

function checkAccountType(value, field) {
  if (!ACCOUNT_TYPES.includes(value)) throw new Error(`${field} must be one of ${ACCOUNT_TYPES.join(", ")}`);
}

/** A claim's values: one string or a non-empty array of unique strings. */
function claimValues(value, field) {
  const values = typeof value === "string" ? [value] : value;
  if (!Array.isArray(values) || values.length === 0) throw new Error(`${field} must be a string or a non-empty array of strings`);
  if (values.length > MAX_INVITATION_CLAIM_VALUES) throw new Error(`${field} must have at most ${MAX_INVITATION_CLAIM_VALUES} values`);
  for (const [index, item] of values.entries()) checkString(item, Array.isArray(value) ? `${field}[${index}]` : field);
  if (new Set(values).size !== values.length) throw new Error(`${field} has duplicates`);
  return values;
}

/** `{name: string | string[]}` with known claim names, at least one: the claims as `{name: [values]}`. */
function checkInvitationClaims(claims, field) {
  checkPlainObject(claims, field);
  checkOnlyKeys(claims, INVITATION_CLAIMS, field);
  const names = Object.keys(claims);
  if (names.length === 0) throw new Error(`${field} must name at least one claim (${INVITATION_CLAIMS.join(", ")})`);
  const parsed = {};
  for (const name of names) parsed[name] = claimValues(claims[name], `${field}.${name}`);
  return parsed;
}

function isFinalized(invitationId) {
  return getJson(ACCEPTED_USER_INVITATIONS, invitationId) !== undefined;
}

/** The stored invitation's claims as `{name: [values]}`, tolerating only well-formed entries. */
function storedClaims(invitation) {
  const claims = {};
  const stored = invitation && typeof invitation.claims === "object" && invitation.claims !== null ? invitation.claims : {};
  for (const [name, values] of Object.entries(stored)) {
    if (Array.isArray(values)) claims[name] = values.filter((v) => typeof v === "string");
  }
  return claims;
}

/**
 * The invitation that `set_user_invitation_by_jwt_claims` args make of the current one, or an Error naming why not.
 * Run by validate (at proposal time) and again by apply, since the invitation may have changed in between.
 */
function nextInvitation(args) {
  const id = args.invitationId;
  const claims = checkInvitationClaims(args.claims, "args.claims");
  if (isFinalized(id)) throw new Error(`invitation '${id}' is Finalized (a user identity was registered with it): it can no longer change`);
  const current = getJson(USER_INVITATIONS, id);
  const currentClaims = storedClaims(current);
  if (current !== undefined && args.accountType !== undefined && args.accountType !== current.accountType) {
    throw new Error(`args.accountType '${args.accountType}' is not invitation '${id}'s account type '${current.accountType}'`);
  }
  const accountType = current !== undefined ? current.accountType : (args.accountType ?? "microsoft");
  if (args.type === "add") {
    for (const [name, values] of Object.entries(claims)) {
      const merged = [...(currentClaims[name] ?? [])];
      for (const value of values) if (!merged.includes(value)) merged.push(value);
      if (merged.length > MAX_INVITATION_CLAIM_VALUES) throw new Error(`claim ${name} of invitation '${id}' would have more than ${MAX_INVITATION_CLAIM_VALUES} values`);
      currentClaims[name] = merged;
    }
    const invitation = { accountType, claims: currentClaims };
    checkSize(invitation, `invitation '${id}'`);
    return invitation;
  }
  if (current === undefined) throw new Error(`invitation '${id}' does not exist`);
  for (const [name, values] of Object.entries(claims)) {
    const remaining = currentClaims[name] ?? [];
    for (const value of values) {
      if (!remaining.includes(value)) throw new Error(`claim ${name} of invitation '${id}' has no value '${value}' to remove`);
    }
    const kept = remaining.filter((value) => !values.includes(value));
    if (kept.length > 0) currentClaims[name] = kept;
    else delete currentClaims[name];
  }
  // An invitation without claims would match every token of every trusted issuer: refuse rather than open it up.
  if (Object.keys(currentClaims).length === 0) {
    throw new Error(`removing these values would leave invitation '${id}' without claims (any token could accept it); propose remove_user_invitation_by_jwt_claims instead`);
  }
  return { accountType, claims: currentClaims };
}

/** Who accepted the invitation, if its acceptance is for the invitation as it stands now (same version). */
function currentAcceptance(invitationId) {
  const info = getJson(USER_INVITATIONS_INFO, invitationId);
  if (typeof info !== "object" || info === null || info.status !== "Accepted" || typeof info.invitationVersion !== "string") return undefined;
  if (info.invitationVersion !== cleanroom.kv.version(USER_INVITATIONS, invitationId)) return undefined;
  const userInfo = info.userInfo;
  if (typeof userInfo !== "object" || userInfo === null || typeof userInfo.userId !== "string") return undefined;
  if (typeof userInfo.data !== "object" || userInfo.data === null || typeof userInfo.data.tenantId !== "string") return undefined;
  return userInfo;
}

/**
 * `set_user_identity` naming an invitation registers the user who accepted it, and nobody else: the reference
 * trusted the proposer here, so a typo (or a malicious proposer) could register another oid under the invitation.
 */
function checkInvitedIdentity(args) {
  const id = args.invitationId;
  const invitation = getJson(USER_INVITATIONS, id);
  if (invitation === undefined) throw new Error(`args.invitationId: invitation '${id}' does not exist`);
  const userInfo = currentAcceptance(id);
  if (userInfo === undefined) throw new Error(`args.invitationId: invitation '${id}' has not been accepted (its status is Open)`);
  if (args.id !== userInfo.userId) throw new Error(`args.id '${args.id}' is not the user who accepted invitation '${id}' (${userInfo.userId})`);
  if (args.data.tenantId !== userInfo.data.tenantId) {
    throw new Error(`args.data.tenantId '${args.data.tenantId}' is not the tenant invitation '${id}' was accepted from (${userInfo.data.tenantId})`);
  }
  const accountType = args.accountType ?? "microsoft";
  if (accountType !== invitation.accountType) throw new Error(`args.accountType '${accountType}' is not invitation '${id}'s account type '${invitation.accountType}'`);
}

// ---------------------------------------------------------------------------------------------------------------
// Actions: validate(args) checks shape and is run at proposal time; apply(args, proposalId) changes state.

const actions = new Map([
  [
    "set_member",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["cert", "member_data"], "args");
        checkCertificate(args.cert, "args.cert");
        checkMemberData(args.member_data, "args.member_data");
      },
      apply(args) {
        const id = ccf.pemToId(args.cert);
        const existing = memberInfo(id);
        setJson(MEMBERS_CERTS, id, args.cert);
        // A member re-proposed with new data keeps its status: re-adding never deactivates anybody.
        setJson(MEMBERS_INFO, id, { status: existing ? existing.status : "Accepted", member_data: args.member_data });
        assertVotersRemain();
      },
    },
  ],
  [
    "remove_member",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["member_id", "cert"], "args");
        memberIdArg(args, "args");
      },
      apply(args) {
        const id = memberIdArg(args, "args");
        requireMember(id);
        remove(MEMBERS_CERTS, id);
        remove(MEMBERS_INFO, id);
        remove(MEMBERS_ACKS, id);
        assertVotersRemain();
      },
    },
  ],
  [
    "set_member_data",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["member_id", "member_data"], "args");
        checkId(args.member_id, "args.member_id");
        checkMemberData(args.member_data, "args.member_data");
      },
      apply(args) {
        const info = requireMember(args.member_id);
        setJson(MEMBERS_INFO, args.member_id, { ...info, member_data: args.member_data });
        assertVotersRemain();
      },
    },
  ],
  [
    "set_user",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["cert", "user_data"], "args");
        checkCertificate(args.cert, "args.cert");
        if (args.user_data !== undefined) {
          checkPlainObject(args.user_data, "args.user_data");
          checkSize(args.user_data, "args.user_data");
          if (args.user_data.tenantId !== undefined) checkString(args.user_data.tenantId, "args.user_data.tenantId");
          if (args.user_data.identifier !== undefined) checkString(args.user_data.identifier, "args.user_data.identifier");
        }
      },
      apply(args) {
        const id = ccf.pemToId(args.cert);
        if (memberInfo(id) !== undefined) throw new Error(`certificate ${id} already identifies a member`);
        setJson(USERS_CERTS, id, args.cert);
        setJson(USERS_INFO, id, { user_data: args.user_data ?? {} });
      },
    },
  ],
  [
    "remove_user",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["user_id"], "args");
        checkId(args.user_id, "args.user_id");
      },
      apply(args) {
        if (getJson(USERS_INFO, args.user_id) === undefined) throw new Error(`user ${args.user_id} does not exist`);
        remove(USERS_CERTS, args.user_id);
        remove(USERS_INFO, args.user_id);
      },
    },
  ],
  [
    "set_user_identity",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["id", "accountType", "invitationId", "data"], "args");
        checkUserIdentityId(args.id, "args.id");
        if (args.accountType !== undefined) checkString(args.accountType, "args.accountType", { max: 64 });
        if (args.invitationId !== undefined) checkResourceId(args.invitationId, "args.invitationId");
        checkPlainObject(args.data, "args.data");
        checkOnlyKeys(args.data, ["tenantId", "identifier"], "args.data");
        checkString(args.data.tenantId, "args.data.tenantId");
        if (args.data.identifier !== undefined) checkString(args.data.identifier, "args.data.identifier");
        if (args.invitationId !== undefined) checkInvitedIdentity(args);
      },
      apply(args, proposalId) {
        if (args.invitationId !== undefined) {
          // Checked again: the invitation may have been changed, removed or accepted anew since the proposal.
          checkInvitedIdentity(args);
          // Finalizing twice (re-registering the same user) keeps the first record.
          if (!isFinalized(args.invitationId)) {
            setJson(ACCEPTED_USER_INVITATIONS, args.invitationId, { userId: args.id, tenantId: args.data.tenantId, finalizedBy: proposalId });
          }
        }
        const identity = { accountType: args.accountType ?? "microsoft", data: args.data };
        if (args.invitationId !== undefined) identity.invitationId = args.invitationId;
        setJson(USER_IDENTITIES, args.id, identity);
      },
    },
  ],
  [
    "remove_user_identity",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["id"], "args");
        checkUserIdentityId(args.id, "args.id");
      },
      apply(args) {
        if (getJson(USER_IDENTITIES, args.id) === undefined) throw new Error(`user identity ${args.id} does not exist`);
        remove(USER_IDENTITIES, args.id);
      },
    },
  ],
  [
    "set_user_invitation_by_jwt_claims",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["invitationId", "type", "accountType", "claims"], "args");
        checkResourceId(args.invitationId, "args.invitationId");
        if (args.type !== "add" && args.type !== "remove") throw new Error("args.type must be 'add' or 'remove'");
        if (args.accountType !== undefined) checkAccountType(args.accountType, "args.accountType");
        nextInvitation(args);
      },
      apply(args) {
        setJson(USER_INVITATIONS, args.invitationId, nextInvitation(args));
      },
    },
  ],
  [
    "remove_user_invitation_by_jwt_claims",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["invitationId"], "args");
        checkResourceId(args.invitationId, "args.invitationId");
        if (getJson(USER_INVITATIONS, args.invitationId) === undefined) throw new Error(`invitation '${args.invitationId}' does not exist`);
      },
      apply(args) {
        if (getJson(USER_INVITATIONS, args.invitationId) === undefined) throw new Error(`invitation '${args.invitationId}' does not exist`);
        // The acceptance (service state) is voided by the deletion: it names the invitation's version, which changes.
        remove(USER_INVITATIONS, args.invitationId);
        remove(ACCEPTED_USER_INVITATIONS, args.invitationId);
      },
    },
  ],
  [
    "set_jwt_issuer",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["issuer", "jwks", "auto_refresh", "ca_cert_bundle", "audiences"], "args");
        checkHttpsUrl(args.issuer, "args.issuer");
        if (args.auto_refresh !== undefined && typeof args.auto_refresh !== "boolean") throw new Error("args.auto_refresh must be a boolean");
        const refresh = args.auto_refresh === true;
        if (refresh === (args.jwks !== undefined)) throw new Error("give either args.jwks (the issuer's keys) or args.auto_refresh: true, not both");
        if (args.jwks !== undefined) checkJwks(args.jwks, "args.jwks");
        if (args.ca_cert_bundle !== undefined) {
          if (!refresh) throw new Error("args.ca_cert_bundle is only used with args.auto_refresh");
          checkString(args.ca_cert_bundle, "args.ca_cert_bundle", { max: 64 * 1024 });
          if (!ccf.crypto.isValidX509CertBundle(args.ca_cert_bundle)) throw new Error("args.ca_cert_bundle is not a PEM certificate bundle");
        }
        if (args.audiences !== undefined) {
          if (!Array.isArray(args.audiences) || args.audiences.length === 0 || args.audiences.length > 16) {
            throw new Error("args.audiences must hold 1 to 16 strings");
          }
          for (const [index, audience] of args.audiences.entries()) checkString(audience, `args.audiences[${index}]`, { max: 512 });
        }
      },
      apply(args) {
        const issuer = { auto_refresh: args.auto_refresh === true };
        if (args.ca_cert_bundle !== undefined) issuer.ca_cert_bundle = args.ca_cert_bundle;
        if (args.audiences !== undefined) issuer.audiences = args.audiences;
        setJson(JWT_ISSUERS, args.issuer, issuer);
        // Keys given inline replace any stored ones; an auto-refresh issuer starts with none, the service fetches them.
        if (args.jwks !== undefined) setJson(JWT_KEYS, args.issuer, args.jwks);
        else remove(JWT_KEYS, args.issuer);
      },
    },
  ],
  [
    "remove_jwt_issuer",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["issuer"], "args");
        checkHttpsUrl(args.issuer, "args.issuer");
      },
      apply(args) {
        if (getJson(JWT_ISSUERS, args.issuer) === undefined) throw new Error(`issuer ${args.issuer} is not trusted`);
        remove(JWT_ISSUERS, args.issuer);
        remove(JWT_KEYS, args.issuer);
      },
    },
  ],
  [
    "set_contract",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["contractId", "contract"], "args");
        checkResourceId(args.contractId, "args.contractId");
        checkPlainObject(args.contract, "args.contract");
        if (args.contract.data === undefined) throw new Error("args.contract.data is missing");
        if (args.contract.id !== undefined && args.contract.id !== args.contractId) {
          throw new Error(`args.contract.id '${args.contract.id}' differs from args.contractId '${args.contractId}'`);
        }
        const current = cleanroom.kv.version(DRAFT_CONTRACTS, args.contractId);
        if (current === undefined || getJson(DRAFT_CONTRACTS, args.contractId) === undefined) {
          throw new Error(`contract '${args.contractId}' does not exist`);
        }
        // The server-side version check: what is voted on is exactly the stored draft, never a stale copy.
        checkString(args.contract.version, "args.contract.version", { max: 64 });
        if (args.contract.version !== current) {
          throw new Error(`args.contract.version ${args.contract.version} is not the contract's current version ${current}`);
        }
        const draft = getJson(DRAFT_CONTRACTS, args.contractId);
        if (JSON.stringify(draft.data) !== JSON.stringify(args.contract.data)) {
          throw new Error(`args.contract.data is not the data of contract '${args.contractId}' at version ${current}`);
        }
        const required = requiredMembersOf(args.contract.data);
        if (required !== undefined) checkRequiredMembers(required, "data.metadata.voters.requiredMembers");
      },
      apply(args, proposalId) {
        if (acceptedContract(args.contractId) !== undefined) throw new Error(`contract '${args.contractId}' is already accepted`);
        const accepted = { data: args.contract.data, version: args.contract.version, proposalId };
        const required = requiredMembersOf(args.contract.data);
        if (required !== undefined) accepted.requiredMembers = required;
        setJson(ACCEPTED_CONTRACTS, args.contractId, accepted);
      },
    },
  ],
  [
    "set_clean_room_policy",
    {
      validate(args) {
        const policyType = checkPolicyArgs(args);
        requireAcceptedContract(args.contractId, "set_clean_room_policy");
        // A removal must make sense against the policy as it stands now (apply checks again).
        if (args.type === "remove") changedPolicy(getJson(CLEAN_ROOM_POLICIES, args.contractId) ?? {}, args, policyType);
      },
      apply(args) {
        const policyType = checkPolicyArgs(args);
        if (acceptedContract(args.contractId) === undefined) throw new Error(`contract '${args.contractId}' is not accepted`);
        const next = changedPolicy(getJson(CLEAN_ROOM_POLICIES, args.contractId) ?? {}, args, policyType);
        if (Object.keys(next).length === 0) remove(CLEAN_ROOM_POLICIES, args.contractId);
        else setJson(CLEAN_ROOM_POLICIES, args.contractId, next);
      },
    },
  ],
  ["set_contract_runtime_options_enable_logging", contractRuntimeOptionAction("logging", "enabled")],
  ["set_contract_runtime_options_disable_logging", contractRuntimeOptionAction("logging", "disabled")],
  ["set_contract_runtime_options_enable_telemetry", contractRuntimeOptionAction("telemetry", "enabled")],
  ["set_contract_runtime_options_disable_telemetry", contractRuntimeOptionAction("telemetry", "disabled")],
  [
    "enable_oidc_issuer",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["issuer_url"], "args");
        if (args.issuer_url !== undefined) checkHttpsUrl(args.issuer_url, "args.issuer_url");
        const current = getJson(OIDC_ISSUER, "0");
        if (current !== undefined && current.enabled) throw new Error("the OIDC issuer is already enabled");
      },
      apply(args) {
        // Generation 1: the service creates that generation's signing key when a member asks (generateSigningKey).
        const issuer = { enabled: true, keyGeneration: 1 };
        if (args.issuer_url !== undefined) issuer.issuerUrl = args.issuer_url;
        setJson(OIDC_ISSUER, "0", issuer);
      },
    },
  ],
  [
    "rotate_oidc_issuer_signing_key",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, [], "args");
        enabledOidcIssuer();
      },
      apply() {
        const current = enabledOidcIssuer();
        setJson(OIDC_ISSUER, "0", { ...current, keyGeneration: current.keyGeneration + 1 });
      },
    },
  ],
  [
    "set_oidc_issuer_url",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["issuer_url"], "args");
        checkHttpsUrl(args.issuer_url, "args.issuer_url");
        enabledOidcIssuer();
      },
      apply(args) {
        setJson(OIDC_ISSUER, "0", { ...enabledOidcIssuer(), issuerUrl: args.issuer_url });
      },
    },
  ],
  [
    "set_constitution",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["constitution"], "args");
        checkString(args.constitution, "args.constitution", { max: 1024 * 1024 });
      },
      apply(args) {
        ccf.kv[CONSTITUTION].set(ccf.strToBuf("0"), ccf.strToBuf(args.constitution));
      },
    },
  ],
]);

function parseActions(proposal) {
  const parsed = JSON.parse(proposal);
  if (!parsed || !Array.isArray(parsed.actions)) throw new Error("a proposal is an object with an actions array");
  return parsed.actions;
}

// ---------------------------------------------------------------------------------------------------------------
// The constitution interface.

export function validate(input) {
  let proposalActions;
  try {
    proposalActions = parseActions(input);
  } catch (error) {
    return { valid: false, description: error.message };
  }
  for (const [position, action] of proposalActions.entries()) {
    const definition = actions.get(action.name);
    if (definition === undefined) {
      return { valid: false, description: `${action.name} at position ${position} is not a known action` };
    }
    try {
      definition.validate(action.args ?? {});
    } catch (error) {
      return { valid: false, description: `${action.name} at position ${position} failed validation: ${error.message}` };
    }
  }
  return { valid: true, description: "Proposal is valid" };
}

/**
 * The set_contract action of a proposal and its required members, or undefined when the proposal has none.
 * `hygiene` is false when the proposal may never pass: set_contract mixed with other actions or repeated.
 */
function contractAction(proposalActions) {
  const contracts = proposalActions.filter((a) => a.name === "set_contract");
  if (contracts.length === 0) return undefined;
  const hygiene = contracts.length === 1 && proposalActions.length === 1;
  const args = contracts[0].args ?? {};
  const required = requiredMembersOf(args.contract && args.contract.data);
  return { contractId: args.contractId, required: Array.isArray(required) ? required : undefined, hygiene };
}

export function resolve(proposal, proposerId, votes) {
  const proposalActions = parseActions(proposal);
  const contract = contractAction(proposalActions);
  if (contract !== undefined) {
    // Reference §3.2 step 3: a contract proposal stands alone, for a contract not yet accepted nor otherwise proposed.
    if (!contract.hygiene) return "Rejected";
    if (acceptedContract(contract.contractId) !== undefined) return "Rejected";
    if (openContractProposalCount(contract.contractId) > 1) return "Rejected";
    if (contract.required !== undefined) {
      const relevant = votes.filter((v) => contract.required.includes(v.member_id));
      if (relevant.some((v) => v.vote !== true)) return "Rejected";
      return contract.required.every((id) => relevant.some((v) => v.member_id === id)) ? "Accepted" : "Open";
    }
  }
  if (proposalActions.some((a) => VETOABLE.includes(a.name)) && votes.some((v) => v.vote !== true)) return "Rejected";
  if (proposalActions.every((a) => AUTO_ACCEPTED.includes(a.name))) return "Accepted";

  const voters = countedActiveMembers();
  // Fail closed: with nobody counted, unanimity would be vacuous and every proposal would pass.
  if (voters.length === 0) return "Open";
  // Members that have not activated yet block contracts (reference §3.2 step 8): they must get their say.
  if (contract !== undefined && countedMembers("Accepted").length > 0) return "Open";
  const yes = votes.filter((v) => v.vote === true && voters.includes(v.member_id)).length;
  return yes === voters.length ? "Accepted" : "Open";
}

export function apply(proposal, proposalId) {
  for (const action of parseActions(proposal)) {
    actions.get(action.name).apply(action.args ?? {}, proposalId);
  }
}

/** Cleanroom extension: the members whose votes acceptance requires (the service subtracts those who voted). */
export function requiredVoters(proposal, proposerId) {
  const proposalActions = parseActions(proposal);
  const contract = contractAction(proposalActions);
  if (contract !== undefined && contract.required !== undefined) return contract.required;
  if (proposalActions.every((a) => AUTO_ACCEPTED.includes(a.name))) return [];
  const voters = countedActiveMembers();
  return contract !== undefined ? [...voters, ...countedMembers("Accepted")] : voters;
}
