export { runCli, CLI_VERSION } from "./run-cli.js";
export { renderCliReference } from "./reference.js";
export type { CliIo } from "./io.js";
// For the analytics benchmark, which sets up the same collaboration as the demo, quietly.
export { stackDown, stackUp, type StackFile } from "./stack/local-stack.js";
export { operatorIdentity } from "./commands/stack.js";
export { DEMO_CONTRACT, Demo, establishCollaboration } from "./demo/run-demo.js";
