export { runCli, CLI_VERSION } from "./run-cli.js";
export type { CliIo } from "./io.js";
