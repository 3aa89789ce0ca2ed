import type { Location } from "@cleanroom/protocol";

// How a location is named in messages, events and listings, never with credentials. Kept apart from the connectors
// (its own entry point, `@cleanroom/storage/location-url`) so that naming a location does not load the cloud SDKs.

export type AzureBlobLocation = Extract<Location, { kind: "azure-blob" }>;
export type S3Location = Extract<Location, { kind: "s3" }>;

/** `azure-blob://<account host and path>/<container>/<prefix>`. */
export function azureBlobUrl(location: AzureBlobLocation): string {
  const account = new URL(location.accountUrl);
  const path = account.pathname.replace(/\/+$/, "");
  return `azure-blob://${account.host}${path}/${location.container}/${location.prefix ?? ""}`;
}

/** `s3://<bucket>/<prefix>`, with ` at <host:port>` for an S3-compatible server. */
export function s3Url(location: S3Location): string {
  const base = `s3://${location.bucket}/${location.prefix ?? ""}`;
  return location.endpoint === undefined ? base : `${base} at ${new URL(location.endpoint).host}`;
}

/** What a store opened on the location reports as its `url`: the folder itself for local locations. */
export function locationUrl(location: Location): string {
  switch (location.kind) {
    case "local":
      return location.path;
    case "azure-blob":
      return azureBlobUrl(location);
    case "s3":
      return s3Url(location);
  }
}
