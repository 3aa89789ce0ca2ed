import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createSelfSignedCertificate, generateP384KeyPair } from "@cleanroom/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchJson } from "./https-fetch.js";

let server: Server;
let base: string;
let certificatePem: string;
let otherCertificatePem: string;

beforeAll(async () => {
  const keys = generateP384KeyPair();
  certificatePem = await createSelfSignedCertificate(keys, { commonName: "issuer", ipAddresses: ["127.0.0.1"] });
  otherCertificatePem = await createSelfSignedCertificate(generateP384KeyPair(), { commonName: "other", ipAddresses: ["127.0.0.1"] });
  server = createServer({ key: keys.privateKeyPem, cert: certificatePem }, (req, res) => {
    switch (req.url) {
      case "/ok":
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ hello: "world" }));
        return;
      case "/missing":
        res.statusCode = 404;
        res.end("{}");
        return;
      case "/redirect":
        res.statusCode = 302;
        res.setHeader("location", "/ok");
        res.end();
        return;
      case "/large-declared":
        res.setHeader("content-length", String(2048));
        res.end("x".repeat(2048));
        return;
      case "/large-chunked":
        res.write("[" + '"x",'.repeat(300));
        res.end('"x"]');
        return;
      case "/text":
        res.end("not json");
        return;
      case "/hang":
        return; // never answers
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const limits = () => ({ ca: certificatePem, timeoutMs: 2_000, maxBytes: 1024 });

describe("fetchJson", () => {
  it("returns the parsed body, trusting the given CA bundle", async () => {
    await expect(fetchJson(`${base}/ok`, limits())).resolves.toEqual({ hello: "world" });
  });

  it("trusts only the given CA bundle", async () => {
    await expect(fetchJson(`${base}/ok`, { ...limits(), ca: otherCertificatePem })).rejects.toThrow(/failed: .*certificate/i);
    // Without a bundle, the public CAs: a self-signed certificate is not among them.
    await expect(fetchJson(`${base}/ok`, { timeoutMs: 2_000, maxBytes: 1024 })).rejects.toThrow(/certificate/i);
  });

  it("refuses anything but https, and URLs carrying credentials", async () => {
    await expect(fetchJson(base.replace("https:", "http:") + "/ok", limits())).rejects.toThrow(/not an https URL/);
    await expect(fetchJson(base.replace("https://", "https://user:pw@") + "/ok", limits())).rejects.toThrow(/credentials/);
    await expect(fetchJson("nonsense", limits())).rejects.toThrow(/not a URL/);
  });

  it("refuses error statuses and does not follow redirects", async () => {
    await expect(fetchJson(`${base}/missing`, limits())).rejects.toThrow(/HTTP 404/);
    await expect(fetchJson(`${base}/redirect`, limits())).rejects.toThrow(/HTTP 302/);
  });

  it("enforces the size limit, declared or not", async () => {
    await expect(fetchJson(`${base}/large-declared`, limits())).rejects.toThrow(/2048 bytes, more than the limit of 1024/);
    await expect(fetchJson(`${base}/large-chunked`, limits())).rejects.toThrow(/more than the limit of 1024 bytes/);
  });

  it("refuses a body that is not JSON", async () => {
    await expect(fetchJson(`${base}/text`, limits())).rejects.toThrow(/did not return JSON/);
  });

  it("gives up after the timeout", async () => {
    const started = Date.now();
    await expect(fetchJson(`${base}/hang`, { ...limits(), timeoutMs: 200 })).rejects.toThrow(/timed out after 200 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("reports an unparsable CA bundle as a failure of the fetch", async () => {
    await expect(fetchJson(`${base}/ok`, { ...limits(), ca: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n" })).rejects.toThrow(/failed/);
  });
});
