import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { createSelfSignedCertificate, generateP384KeyPair, parseCertificate } from "@cleanroom/crypto";
import { MEMBER_ROLES, MemberDataSchema, type MemberInfo } from "@cleanroom/protocol";
import { formatRecord, formatTable } from "../io.js";
import { jsonArgument, type CommandContext } from "../context.js";
import { printProposal } from "./proposal-output.js";
import type { Run } from "./types.js";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function memberRecord(member: MemberInfo): Record<string, unknown> {
  const { identifier, tenantId, roles } = member.memberData;
  return {
    memberId: member.memberId,
    identifier,
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(Array.isArray(roles) && roles.length > 0 ? { roles: roles.join(",") } : {}),
    status: member.status,
  };
}

async function keygen(ctx: CommandContext, options: { name: string; out: string }): Promise<void> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(options.name)) throw new Error("--name may contain letters, digits, '.', '_' and '-' only.");
  const keys = generateP384KeyPair();
  const certificatePem = await createSelfSignedCertificate(keys, { commonName: options.name, validityDays: 365 });
  const dir = ctx.path(options.out);
  const certificate = join(dir, `${options.name}_cert.pem`);
  const privateKey = join(dir, `${options.name}_privk.pem`);
  writeFileSync(privateKey, keys.privateKeyPem, { mode: 0o600, flag: "wx" });
  writeFileSync(certificate, certificatePem, { flag: "wx" });
  const result = { name: options.name, memberId: parseCertificate(certificatePem).id, certificate, privateKey };
  ctx.printer.value(result, () => formatRecord(result));
}

interface AddOptions {
  certificate: string;
  identifier?: string;
  tenantId?: string;
  role: string[];
  memberData?: string;
}

async function add(ctx: CommandContext, options: AddOptions): Promise<void> {
  const data = options.memberData
    ? jsonArgument(ctx, options.memberData, "--member-data")
    : {
        identifier: options.identifier,
        ...(options.tenantId ? { tenantId: options.tenantId } : {}),
        ...(options.role.length > 0 ? { roles: options.role } : {}),
      };
  const parsed = MemberDataSchema.safeParse(data);
  if (!parsed.success) {
    throw new Error(`Invalid member data: ${parsed.error.issues.map((i) => `${i.path.join(".") || "value"}: ${i.message}`).join("; ")} (roles: ${MEMBER_ROLES.join(", ")}).`);
  }
  const certificatePem = ctx.readFile(options.certificate);
  const client = await ctx.client();
  const { value, transactionId } = await client.createProposal({
    actions: [{ name: "set_member", args: { cert: certificatePem, member_data: parsed.data } }],
  });
  ctx.printer.note(`proposed set_member for ${parseCertificate(certificatePem).id} (transaction ${transactionId ?? "?"})`);
  await printProposal(ctx, client, value);
}

export function registerGovernanceMemberCommands(governance: Command, run: Run): void {
  const member = governance.command("member").description("Consortium members.");

  run(
    member
      .command("keygen")
      .description("Generate an ECDSA P-384 key and self-signed certificate (<name>_cert.pem, <name>_privk.pem).")
      .requiredOption("--name <name>", "member name (certificate common name and file prefix)")
      .option("--out <dir>", "output directory", "."),
    keygen,
  );

  run(
    member
      .command("add")
      .description("Propose adding a member (set_member). The member then activates itself.")
      .requiredOption("--certificate <file>", "the new member's certificate (PEM)")
      .option("--identifier <name>", "member_data.identifier")
      .option("--tenant-id <id>", "member_data.tenantId")
      .option("--role <role>", `member_data.roles entry (repeatable): ${MEMBER_ROLES.join(", ")}`, collect, [])
      .option("--member-data <json>", "complete member_data instead (JSON or @file)"),
    add,
  );

  run(member.command("activate").description("Acknowledge the service state and become Active (the selected profile's member)."), async (ctx) => {
    const client = await ctx.client();
    const memberId = ctx.memberId();
    const { transactionId } = await client.activate(memberId);
    const shown = await client.member(memberId);
    ctx.printer.note(`member ${memberId} is ${shown.status} (transaction ${transactionId ?? "?"})`);
    ctx.printer.value(shown, () => formatRecord(memberRecord(shown)));
  });

  run(
    member.command("show").description("Show a member (default: the selected profile's).").option("--member-id <id>", "member id"),
    async (ctx, options: { memberId?: string }) => {
      const client = await ctx.client();
      const shown = await client.member(options.memberId ?? ctx.memberId());
      ctx.printer.value(shown, () => formatRecord({ ...memberRecord(shown), certificate: parseCertificate(shown.certificate).subject }));
    },
  );

  run(member.command("list").description("List members."), async (ctx) => {
    const members = await (await ctx.client()).members();
    ctx.printer.value(members, () =>
      formatTable(members.map(memberRecord), [
        { header: "MEMBER ID", value: (m) => m.memberId },
        { header: "IDENTIFIER", value: (m) => m.identifier },
        { header: "STATUS", value: (m) => m.status },
        { header: "TENANT", value: (m) => m.tenantId },
        { header: "ROLES", value: (m) => m.roles },
      ]),
    );
  });
}
