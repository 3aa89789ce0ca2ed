export { runCli, CLI_VERSION } from "./run-cli.js";
export { renderCliReference } from "./reference.js";
export type { CliIo } from "./io.js";
