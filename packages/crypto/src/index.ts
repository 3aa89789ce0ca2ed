export * from "./keys.js";
export * from "./certificates.js";
export * from "./cose-sign1.js";
export * from "./governance-message.js";
export * from "./prehashed-ecdsa.js";
export * from "./key-wrap.js";
