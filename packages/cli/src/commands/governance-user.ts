import type { Command } from "commander";
import { parseCertificate } from "@cleanroom/crypto";
import { ServiceError, type GovernanceClient } from "@cleanroom/governance-client";
import type { Invitation, UserIdentity, UserInfo } from "@cleanroom/protocol";
import { formatRecord, formatTable } from "../io.js";
import { jsonArgument, type CommandContext } from "../context.js";
import { printProposal } from "./proposal-output.js";
import type { Run } from "./types.js";

/** A certificate user (`set_user`) or a JWT user identity (`set_user_identity`), in one shape for listing. */
export interface UserRow {
  id: string;
  type: "certificate" | "jwt";
  tenantId?: string;
  identifier?: string;
  accountType?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function certificateUserRow(user: UserInfo): UserRow {
  const tenantId = text(user.userData.tenantId);
  const identifier = text(user.userData.identifier);
  return { id: user.userId, type: "certificate", ...(tenantId !== undefined ? { tenantId } : {}), ...(identifier !== undefined ? { identifier } : {}) };
}

export function identityUserRow(identity: UserIdentity): UserRow {
  return {
    id: identity.id,
    type: "jwt",
    tenantId: identity.data.tenantId,
    ...(identity.data.identifier !== undefined ? { identifier: identity.data.identifier } : {}),
    accountType: identity.accountType,
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface AddOptions {
  certificate?: string;
  objectId?: string;
  acceptedInvitationId?: string;
  tenantId?: string;
  identifier?: string;
  accountType?: string;
}

/**
 * `user add --accepted-invitation-id`: registers the user who accepted the invitation, with the oid and tenant the
 * service recorded (the constitution refuses any other), and finalizes the invitation.
 */
async function addInvitedUser(ctx: CommandContext, client: GovernanceClient, invitationId: string, identifier: string | undefined): Promise<void> {
  const invitation = await client.invitation(invitationId);
  if (invitation.status !== "Accepted" || !invitation.userInfo) {
    const detail = invitation.status === "Finalized" ? `; user ${invitation.userInfo?.userId ?? "?"} is already registered with it` : "; the invitee must accept it first";
    throw new Error(`Invitation ${invitationId} is ${invitation.status}${detail}.`);
  }
  const { userId, data } = invitation.userInfo;
  const { value, transactionId } = await client.proposeUserIdentity({
    id: userId,
    accountType: invitation.accountType,
    invitationId,
    data: { tenantId: data.tenantId, ...(identifier !== undefined ? { identifier } : {}) },
  });
  ctx.printer.note(`proposed set_user_identity for ${userId} (tenant ${data.tenantId}) from invitation ${invitationId} (transaction ${transactionId ?? "?"})`);
  await printProposal(ctx, client, value);
}

async function add(ctx: CommandContext, options: AddOptions): Promise<void> {
  const sources = [options.certificate, options.objectId, options.acceptedInvitationId].filter((o) => o !== undefined);
  if (sources.length !== 1) {
    throw new Error(
      "Give one of --certificate <file> (a certificate user), --object-id <oid> (a JWT user) or --accepted-invitation-id <id> (the JWT user who accepted an invitation).",
    );
  }
  const client = await ctx.client();
  if (options.acceptedInvitationId !== undefined) {
    if (options.tenantId !== undefined || options.accountType !== undefined) {
      throw new Error("--tenant-id and --account-type come from the accepted invitation; do not give them with --accepted-invitation-id.");
    }
    return addInvitedUser(ctx, client, options.acceptedInvitationId, options.identifier);
  }
  if (options.certificate !== undefined) {
    if (options.accountType !== undefined) throw new Error("--account-type is for JWT users (--object-id).");
    const certificatePem = ctx.readFile(options.certificate);
    const userId = parseCertificate(certificatePem).id;
    const { value, transactionId } = await client.proposeUser(certificatePem, {
      ...(options.tenantId !== undefined ? { tenantId: options.tenantId } : {}),
      ...(options.identifier !== undefined ? { identifier: options.identifier } : {}),
    });
    ctx.printer.note(`proposed set_user for ${userId} (transaction ${transactionId ?? "?"})`);
    return printProposal(ctx, client, value);
  }
  if (options.tenantId === undefined) throw new Error("A JWT user needs --tenant-id: the tenant (tid claim) its tokens must come from.");
  const { value, transactionId } = await client.proposeUserIdentity({
    id: options.objectId ?? "",
    ...(options.accountType !== undefined ? { accountType: options.accountType } : {}),
    data: { tenantId: options.tenantId, ...(options.identifier !== undefined ? { identifier: options.identifier } : {}) },
  });
  ctx.printer.note(`proposed set_user_identity for ${options.objectId ?? ""} (transaction ${transactionId ?? "?"})`);
  await printProposal(ctx, client, value);
}

/** JWT identities, or none when the caller may not list them (e.g. an anonymous profile). */
async function identitiesOrNone(ctx: CommandContext, client: GovernanceClient): Promise<UserIdentity[]> {
  try {
    return await client.userIdentities();
  } catch (error) {
    if (error instanceof ServiceError && (error.status === 401 || error.status === 403)) {
      ctx.printer.note(`note: JWT user identities not listed (${error.code}: ${error.message})`);
      return [];
    }
    throw error;
  }
}

async function show(ctx: CommandContext, options: { id: string }): Promise<void> {
  const client = await ctx.client();
  const certificateUser = (await client.users()).find((u) => u.userId === options.id);
  if (certificateUser) {
    const result = { type: "certificate" as const, ...certificateUser };
    return ctx.printer.value(result, () =>
      formatRecord({ ...certificateUserRow(certificateUser), certificate: parseCertificate(certificateUser.certificate).subject }),
    );
  }
  let identity: UserIdentity;
  try {
    identity = await client.userIdentity(options.id);
  } catch (error) {
    if (error instanceof ServiceError && error.code === "UserIdentityNotFound") {
      throw new Error(`No certificate user or JWT user identity has the id ${options.id}.`);
    }
    throw error;
  }
  const result = { type: "jwt" as const, ...identity };
  ctx.printer.value(result, () => formatRecord({ ...identityUserRow(identity), ...(identity.invitationId ? { invitationId: identity.invitationId } : {}) }));
}

/** `name=value|value; name=value`: an invitation's claims on one line. */
function claimsText(claims: Invitation["claims"]): string {
  return Object.entries(claims)
    .map(([name, values]) => `${name}=${values.join("|")}`)
    .join("; ");
}

function invitationRecord(invitation: Invitation): Record<string, unknown> {
  return {
    invitationId: invitation.invitationId,
    status: invitation.status,
    accountType: invitation.accountType,
    claims: claimsText(invitation.claims),
    ...(invitation.userInfo ? { userId: invitation.userInfo.userId, tenantId: invitation.userInfo.data.tenantId } : {}),
    ...(invitation.finalizedBy !== undefined ? { finalizedBy: invitation.finalizedBy } : {}),
  };
}

/** `--claims`: a JSON object of claim name → a value or a list of values. Names are the constitution's to check. */
function claimsArgument(ctx: CommandContext, value: string): Record<string, string | string[]> {
  const claims = jsonArgument(ctx, value, "--claims");
  const usage = '--claims must be a JSON object of claim name → value or list of values, e.g. {"preferred_username": "a@example.com", "tid": "<tenant>"}.';
  if (typeof claims !== "object" || claims === null || Array.isArray(claims) || Object.keys(claims).length === 0) throw new Error(usage);
  const checked: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(claims as Record<string, unknown>)) {
    if (typeof values === "string") checked[name] = values;
    else if (Array.isArray(values) && values.every((v): v is string => typeof v === "string")) checked[name] = values;
    else throw new Error(`${usage} (claim ${name} is neither)`);
  }
  return checked;
}

function registerInvitationCommands(user: Command, run: Run): void {
  const invitation = user
    .command("invitation")
    .description("Invitations: the members invite a JWT user by the claims of its token; the user accepts; the members then register it.");

  run(
    invitation
      .command("propose")
      .description("Propose creating an invitation or adding claim values to it (set_user_invitation_by_jwt_claims), or removing values with --remove.")
      .requiredOption("--id <invitationId>", "the invitation id (letters, digits, '.', '_', '-')")
      .requiredOption("--claims <json>", 'claims the token must carry, e.g. {"preferred_username":"a@example.com","tid":"<tenant>"} (JSON or @file); names: preferred_username, email, appid, tid, sub, upn')
      .option("--remove", "remove these values from the invitation instead of adding them"),
    async (ctx, options: { id: string; claims: string; remove?: boolean }) => {
      const claims = claimsArgument(ctx, options.claims);
      const client = await ctx.client();
      const type = options.remove ? "remove" : "add";
      const { value, transactionId } = await client.proposeUserInvitation({ invitationId: options.id, claims, type });
      ctx.printer.note(`proposed set_user_invitation_by_jwt_claims (${type}) for ${options.id} (transaction ${transactionId ?? "?"})`);
      await printProposal(ctx, client, value);
    },
  );

  run(invitation.command("list").description("List invitations with their status and who accepted them."), async (ctx) => {
    const invitations = await (await ctx.client()).invitations();
    ctx.printer.value(invitations, () =>
      formatTable(invitations, [
        { header: "INVITATION ID", value: (i) => i.invitationId },
        { header: "STATUS", value: (i) => i.status },
        { header: "CLAIMS", value: (i) => claimsText(i.claims) },
        { header: "USER ID", value: (i) => i.userInfo?.userId },
        { header: "TENANT", value: (i) => i.userInfo?.data.tenantId },
      ]),
    );
  });

  run(
    invitation.command("show").description("Show an invitation.").requiredOption("--id <invitationId>", "the invitation id"),
    async (ctx, options: { id: string }) => {
      const found = await (await ctx.client()).invitation(options.id);
      ctx.printer.value(found, () => formatRecord(invitationRecord(found)));
    },
  );

  run(
    invitation
      .command("accept")
      .description("Accept an invitation as the invitee, with the profile's token (--token-file or CLEANROOM_ACCESS_TOKEN); the oid need not be registered yet.")
      .requiredOption("--id <invitationId>", "the invitation id"),
    async (ctx, options: { id: string }) => {
      const { value } = await (await ctx.client()).acceptInvitation(options.id);
      ctx.printer.value(value, () => formatRecord(invitationRecord(value)));
    },
  );
}

function registerJwtIssuerCommands(user: Command, run: Run): void {
  const issuer = user.command("jwt-issuer").description("Issuers whose tokens authenticate JWT users.");

  run(
    issuer
      .command("add")
      .description("Propose trusting a JWT issuer (set_jwt_issuer): with its keys inline, or fetched and refreshed by the service.")
      .requiredOption("--issuer <url>", "the issuer (https URL, the tokens' iss claim)")
      .option("--jwks <json>", "the issuer's public keys as a JWKS {keys: [...]} (JSON or @file)")
      .option("--auto-refresh", "fetch the keys from the issuer's OpenID configuration and keep them fresh")
      .option("--ca-cert <file>", "CA certificate bundle (PEM) trusted when fetching the keys (with --auto-refresh)")
      .option("--audience <aud>", "an accepted aud claim (repeatable; default: any)", collect, []),
    async (ctx, options: { issuer: string; jwks?: string; autoRefresh?: boolean; caCert?: string; audience: string[] }) => {
      if ((options.jwks === undefined) === (options.autoRefresh !== true)) throw new Error("Give either --jwks <json> or --auto-refresh.");
      if (options.caCert !== undefined && options.autoRefresh !== true) throw new Error("--ca-cert is only used with --auto-refresh.");
      const jwks = options.jwks === undefined ? undefined : jsonArgument(ctx, options.jwks, "--jwks");
      if (jwks !== undefined && (typeof jwks !== "object" || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys))) {
        throw new Error('--jwks must be a JWKS: {"keys": [...]}.');
      }
      const client = await ctx.client();
      const { value, transactionId } = await client.proposeJwtIssuer({
        issuer: options.issuer,
        ...(jwks !== undefined ? { jwks: jwks as { keys: unknown[] } } : {}),
        ...(options.autoRefresh ? { autoRefresh: true } : {}),
        ...(options.caCert !== undefined ? { caCertBundle: ctx.readFile(options.caCert) } : {}),
        ...(options.audience.length > 0 ? { audiences: options.audience } : {}),
      });
      ctx.printer.note(`proposed set_jwt_issuer for ${options.issuer} (transaction ${transactionId ?? "?"})`);
      await printProposal(ctx, client, value);
    },
  );

  run(issuer.command("list").description("List trusted JWT issuers."), async (ctx) => {
    const issuers = await (await ctx.client()).jwtIssuers();
    ctx.printer.value(issuers, () =>
      formatTable(issuers, [
        { header: "ISSUER", value: (i) => i.issuer },
        { header: "AUTO REFRESH", value: (i) => (i.autoRefresh ? "yes" : "no") },
        { header: "AUDIENCES", value: (i) => i.audiences?.join(", ") ?? "any" },
        { header: "KEY IDS", value: (i) => i.keyIds.join(", ") },
        { header: "REFRESHED", value: (i) => i.refreshedAt },
      ]),
    );
  });
}

export function registerGovernanceUserCommands(governance: Command, run: Run): void {
  const user = governance.command("user").description("Users: certificate users, JWT users (by object id or invitation), invitations and JWT issuers.");

  run(
    user
      .command("add")
      .description(
        "Propose adding a user: a certificate user (set_user), a JWT user identified by its object id, or the JWT user who accepted an invitation (set_user_identity).",
      )
      .option("--certificate <file>", "the user's certificate (PEM): a certificate user")
      .option("--object-id <oid>", "the user's oid claim: a JWT user")
      .option("--accepted-invitation-id <id>", "an Accepted invitation: register the user who accepted it (its oid and tenant) and finalize it")
      .option("--tenant-id <id>", "the user's tenant (required for JWT users: tokens must carry this tid)")
      .option("--identifier <name>", "a name for the user")
      .option("--account-type <type>", "JWT users' account type (default: microsoft)"),
    add,
  );

  run(user.command("show").description("Show a certificate user or JWT user identity.").requiredOption("--id <id>", "user id (certificate id or oid)"), show);

  run(user.command("list").description("List certificate users and JWT user identities."), async (ctx) => {
    const client = await ctx.client();
    const rows = [...(await client.users()).map(certificateUserRow), ...(await identitiesOrNone(ctx, client)).map(identityUserRow)];
    ctx.printer.value(rows, () =>
      formatTable(rows, [
        { header: "USER ID", value: (u) => u.id },
        { header: "TYPE", value: (u) => u.type },
        { header: "IDENTIFIER", value: (u) => u.identifier },
        { header: "TENANT", value: (u) => u.tenantId },
        { header: "ACCOUNT TYPE", value: (u) => u.accountType },
      ]),
    );
  });

  registerInvitationCommands(user, run);
  registerJwtIssuerCommands(user, run);
}
