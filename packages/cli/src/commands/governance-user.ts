import type { Command } from "commander";
import { parseCertificate } from "@cleanroom/crypto";
import { ServiceError, type GovernanceClient } from "@cleanroom/governance-client";
import type { UserIdentity, UserInfo } from "@cleanroom/protocol";
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
  tenantId?: string;
  identifier?: string;
  accountType?: string;
}

async function add(ctx: CommandContext, options: AddOptions): Promise<void> {
  if ((options.certificate === undefined) === (options.objectId === undefined)) {
    throw new Error("Give either --certificate <file> (a certificate user) or --object-id <oid> (a JWT user).");
  }
  const client = await ctx.client();
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
  const user = governance.command("user").description("Users: certificate users and JWT users (by object id), and JWT issuers.");

  run(
    user
      .command("add")
      .description("Propose adding a user: a certificate user (set_user) or a JWT user identified by its object id (set_user_identity).")
      .option("--certificate <file>", "the user's certificate (PEM): a certificate user")
      .option("--object-id <oid>", "the user's oid claim: a JWT user")
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

  registerJwtIssuerCommands(user, run);
}
