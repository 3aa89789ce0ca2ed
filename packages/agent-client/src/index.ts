export { AgentClient, type AgentClientOptions, type WaitOptions } from "./agent-client.js";
