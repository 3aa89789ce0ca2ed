import type { Command } from "commander";
import { formatRecord } from "../io.js";
import { printProposal } from "./proposal-output.js";
import type { Run } from "./types.js";

export function registerGovernanceOidcIssuerCommands(governance: Command, run: Run): void {
  const issuer = governance
    .command("oidc-issuer")
    .description("The consortium's OIDC issuer: signs ID tokens for attested workloads, for federation with cloud identity.");

  run(
    issuer.command("propose-enable").description("Propose enabling the issuer (every counted member must accept).").option("--issuer-url <url>", "the https URL the parties publish the discovery document at"),
    async (ctx, options: { issuerUrl?: string }) => {
      const client = await ctx.client();
      const { value } = await client.proposeEnableOidcIssuer(options.issuerUrl);
      await printProposal(ctx, client, value);
    },
  );

  run(issuer.command("propose-rotate-signing-key").description("Propose a new key generation; the old key stays published until its tokens expire."), async (ctx) => {
    const client = await ctx.client();
    const { value } = await client.proposeRotateOidcSigningKey();
    await printProposal(ctx, client, value);
  });

  run(
    issuer.command("propose-set-issuer-url").description("Propose the issuer URL that tokens name in 'iss'.").requiredOption("--issuer-url <url>", "https URL"),
    async (ctx, options: { issuerUrl: string }) => {
      const client = await ctx.client();
      const { value } = await client.proposeOidcIssuerUrl(options.issuerUrl);
      await printProposal(ctx, client, value);
    },
  );

  run(issuer.command("generate-signing-key").description("Have the service generate the current generation's signing key (idempotent; Active members)."), async (ctx) => {
    const { value, transactionId } = await (await ctx.client()).generateOidcSigningKey();
    ctx.printer.note(`signing key ${value.kid} of generation ${value.generation}${transactionId ? ` (transaction ${transactionId})` : " (already existed)"}`);
    ctx.printer.value(value, () => formatRecord(value));
  });

  run(issuer.command("show").description("Show whether the issuer is enabled, its URL, key generation and published keys."), async (ctx) => {
    const client = await ctx.client();
    const info = await client.oidcIssuerInfo();
    const keys = info.enabled && info.currentKid !== undefined ? (await client.oidcJwks()).keys.map((k) => k.kid) : [];
    const value = { ...info, publishedKeys: keys };
    ctx.printer.value(value, () =>
      formatRecord({
        enabled: info.enabled,
        issuerUrl: info.issuerUrl ?? "not set",
        keyGeneration: info.keyGeneration,
        currentKid: info.currentKid ?? "none (run generate-signing-key)",
        publishedKeys: keys.join(", ") || "none",
      }),
    );
  });
}
