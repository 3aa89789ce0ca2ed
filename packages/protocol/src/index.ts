export * from "./errors.js";
export * from "./transactions.js";
export * from "./governance.js";
export * from "./app.js";
export * from "./policy-claims.js";
export * from "./runtime.js";
export * from "./analytics.js";
export * from "./validation.js";
