import type { Command } from "commander";
import { formatRecord, formatTable } from "../io.js";
import type { Run } from "./types.js";

export function registerProfileCommands(program: Command, run: Run): void {
  const profile = program.command("profile").description("Named identities, so several members can act from one machine.");

  run(
    profile
      .command("create <name>")
      .description("Create or replace a profile.")
      .requiredOption("--service-url <url>", "governance service URL (https://host:port)")
      .requiredOption("--service-cert <file>", "the service certificate to pin")
      .option("--cert <file>", "member or user certificate (PEM)")
      .option("--key <file>", "its private key (PEM)")
      .option("--token-file <file>", "a file holding a bearer token (JWT users), read by every command; $CLEANROOM_ACCESS_TOKEN overrides it")
      .option("--agent-url <url>", "the contract's clean-room agent (https://host:port), for query run|status|runs and results download")
      .option("--agent-cert <file>", "the agent's TLS certificate to pin (PEM)")
      .option("--use", "make it the current profile"),
    (
      ctx,
      name: string,
      options: { serviceUrl: string; serviceCert: string; cert?: string; key?: string; tokenFile?: string; agentUrl?: string; agentCert?: string; use?: boolean },
    ) => {
      if ((options.agentUrl === undefined) !== (options.agentCert === undefined)) throw new Error("Give --agent-url and --agent-cert together.");
      ctx.store.save(
        name,
        {
          serviceUrl: options.serviceUrl,
          serviceCertificate: ctx.path(options.serviceCert),
          ...(options.cert ? { certificate: ctx.path(options.cert) } : {}),
          ...(options.key ? { privateKey: ctx.path(options.key) } : {}),
          ...(options.tokenFile ? { tokenFile: ctx.path(options.tokenFile) } : {}),
          ...(options.agentUrl !== undefined && options.agentCert !== undefined ? { agentUrl: options.agentUrl, agentCertificate: ctx.path(options.agentCert) } : {}),
        },
        options.use ?? false,
      );
      ctx.printer.note(`profile '${name}' saved in ${ctx.store.path}`);
    },
  );

  run(
    profile
      .command("set-agent")
      .description("Set the clean-room agent of the selected profile (--profile, else the current one).")
      .requiredOption("--agent-url <url>", "the agent's URL (https://host:port)")
      .requiredOption("--agent-cert <file>", "the agent's TLS certificate to pin (PEM)"),
    (ctx, options: { agentUrl: string; agentCert: string }) => {
      const { name } = ctx.profile();
      ctx.store.setAgent(name, { agentUrl: options.agentUrl, agentCertificate: ctx.path(options.agentCert) });
      ctx.printer.note(`profile '${name}' now uses the agent at ${options.agentUrl}`);
    },
  );

  run(profile.command("use <name>").description("Make a profile the current one."), (ctx, name: string) => {
    ctx.store.use(name);
    ctx.printer.note(`now using profile '${name}'`);
  });

  run(profile.command("list").description("List profiles."), (ctx) => {
    const file = ctx.store.read();
    const rows = Object.entries(file.profiles).map(([name, p]) => ({ name, current: name === file.current, ...p }));
    ctx.printer.value(rows, () =>
      formatTable(rows, [
        { header: "CURRENT", value: (r) => (r.current ? "*" : "") },
        { header: "NAME", value: (r) => r.name },
        { header: "SERVICE", value: (r) => r.serviceUrl },
        { header: "CERTIFICATE", value: (r) => r.certificate },
        { header: "TOKEN FILE", value: (r) => r.tokenFile },
        { header: "AGENT", value: (r) => r.agentUrl },
      ]),
    );
  });

  run(profile.command("show [name]").description("Show a profile (default: the selected one)."), (ctx, name?: string) => {
    const selected = name ? { name, profile: ctx.store.read().profiles[name] } : ctx.profile();
    if (!selected.profile) throw new Error(`No profile named '${name}'.`);
    const record = { name: selected.name, ...selected.profile };
    ctx.printer.value(record, () => formatRecord(record));
  });

  run(profile.command("remove <name>").description("Delete a profile."), (ctx, name: string) => {
    ctx.store.remove(name);
    ctx.printer.note(`profile '${name}' removed`);
  });
}
