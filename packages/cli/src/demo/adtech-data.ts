// Synthetic ad-tech data for `cleanroom demo` and the analytics benchmark: a publisher's impression log and an
// advertiser's conversion log over one partly shared user population, deterministic from a seed and streamed as CSV.
//
// The model, per row (all integer arithmetic on a 32-bit PRNG, so the bytes depend on nothing but the scenario):
// - Users are integer indexes. The publisher's are [0, P) and the advertiser's [P - S, P - S + A), for P publisher
//   users, A advertiser users and S shared users: exactly S users are both (by default 40% of the advertiser's).
// - A user id is a keyed 64-bit bijective mix of the index, printed as 16 hex characters: the shape of a truncated
//   SHA-256 of an email, at a fraction of the cost. (Node's crypto.hash would spend ≈0.5 µs of a ≈1 µs row budget
//   and triple the id's bytes; both parties apply the same keyed function, as two parties matching on hashed emails
//   apply the same salt, so ids join exactly where the populations overlap and nowhere else.)
// - Each user has three "affinity" campaigns (a function of the index); 85% of their impressions are of one of
//   them, 15% run-of-network. 70% of conversions are of one of the user's affinity campaigns. Campaign popularity is
//   Zipf-like, and the last two campaigns are small pilots (0.02% of traffic each), so a minimum-group-size filter
//   has something to remove.
// - Dates are uniform over a window of `days` ending at `endDate`, impressions and conversions alike; counts and
//   revenue are long-tailed.
// The PRNG is reseeded every BLOCK_ROWS rows from (seed, dataset, block), so any row range can be generated on its
// own and the result is the same however the rows are split.
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DatasetField, Segment } from "@cleanroom/protocol";

/** Bump whenever the bytes generated for a scenario change, so caches keyed by it are invalidated. */
export const ADTECH_GENERATOR_VERSION = 1;

export type AdtechDataset = "impressions" | "conversions";

/** The view names the demo query reads its two inputs by. */
export const ADTECH_VIEWS: Readonly<Record<AdtechDataset, string>> = {
  impressions: "publisher_impressions",
  conversions: "advertiser_conversions",
};

/** The publisher's impression log, in CSV column order. */
export const IMPRESSION_FIELDS: readonly DatasetField[] = [
  { name: "user_id", type: "string" },
  { name: "impression_date", type: "date" },
  { name: "campaign_id", type: "string" },
  { name: "site", type: "string" },
  { name: "device", type: "string" },
  { name: "impressions", type: "integer" },
];

/** The advertiser's conversion log, in CSV column order. */
export const CONVERSION_FIELDS: readonly DatasetField[] = [
  { name: "user_id", type: "string" },
  { name: "conversion_date", type: "date" },
  { name: "campaign_id", type: "string" },
  { name: "conversions", type: "integer" },
  { name: "revenue", type: "number" },
];

export const ADTECH_FIELDS: Readonly<Record<AdtechDataset, readonly DatasetField[]>> = {
  impressions: IMPRESSION_FIELDS,
  conversions: CONVERSION_FIELDS,
};

/** The demo query's result, i.e. the sink's schema. */
export const DEMO_RESULT_FIELDS: readonly DatasetField[] = [
  { name: "campaign_id", type: "string" },
  { name: "converting_users", type: "long" },
  { name: "conversions", type: "long" },
  { name: "revenue", type: "number" },
];

/** Campaigns whose result rows rest on fewer distinct users than this are suppressed (the query's post-filter). */
export const DEMO_MIN_GROUP_SIZE = 50;

/**
 * Conversions and revenue per campaign, counting only conversions of users who saw an impression of that campaign
 * on or before the day they converted (dates are days, so a same-day impression counts). One statement, in the SQL
 * that DuckDB and Spark SQL both accept. `converting_users` is the group size: the minimum-group-size rule is
 * applied by the segment's post-filter on it (DEMO_POST_FILTERS), which the engine enforces whatever the SQL says.
 * A CTE rather than a derived table (`FROM (SELECT …) AS e`): the engine's statement guard currently refuses derived
 * tables, because DuckDB serializes their parse position as 2^64-1, which does not survive a JavaScript number.
 */
export const DEMO_QUERY_SQL = `WITH first_impressions AS (
  SELECT user_id, campaign_id, MIN(impression_date) AS first_impression_date
  FROM publisher_impressions
  GROUP BY user_id, campaign_id
)
SELECT
  c.campaign_id AS campaign_id,
  COUNT(DISTINCT c.user_id) AS converting_users,
  CAST(SUM(c.conversions) AS BIGINT) AS conversions,
  ROUND(SUM(c.revenue), 2) AS revenue
FROM advertiser_conversions AS c
JOIN first_impressions AS f
  ON f.user_id = c.user_id AND f.campaign_id = c.campaign_id
WHERE f.first_impression_date <= c.conversion_date
GROUP BY c.campaign_id`;

export const DEMO_POST_FILTERS: NonNullable<Segment["postFilters"]> = [{ columnName: "converting_users", value: DEMO_MIN_GROUP_SIZE }];

/** The demo query's whole segment program: one segment. (Spread it, `[...DEMO_SEGMENTS]`, where a mutable array is asked for.) */
export const DEMO_SEGMENTS: readonly Segment[] = [{ executionSequence: 1, statement: DEMO_QUERY_SQL, postFilters: DEMO_POST_FILTERS }];

export interface AdtechScenario {
  /** 32-bit unsigned. Keys both the row streams and the user-id hash, so both parties must use the same one. */
  readonly seed: number;
  readonly impressionRows: number;
  readonly conversionRows: number;
  readonly publisherUsers: number;
  readonly advertiserUsers: number;
  /** How many of the advertiser's users are also the publisher's (≤ both populations). */
  readonly sharedUsers: number;
  /** Campaigns cmp-001…; at most 999, at least 3. */
  readonly campaigns: number;
  /** Days in the date window, ending at endDate inclusive. */
  readonly days: number;
  /** YYYY-MM-DD. */
  readonly endDate: string;
}

export interface AdtechScenarioOptions {
  impressionRows: number;
  conversionRows: number;
  seed?: number;
  /** Share of the advertiser's users who are also the publisher's (default 0.4). */
  overlap?: number;
  campaigns?: number;
  days?: number;
  endDate?: string;
}

const MAX_ROWS = 2 ** 31;

/**
 * A scenario with realistic proportions: the publisher's users see about four impression rows each in the window,
 * the advertiser's convert about twice, and 40% of the advertiser's users are the publisher's (capped at the
 * publisher's population), so joining the logs on user_id matches about 40% of the conversion rows.
 */
export function adtechScenario(options: AdtechScenarioOptions): AdtechScenario {
  const { impressionRows, conversionRows } = options;
  for (const [name, rows] of [["impressionRows", impressionRows], ["conversionRows", conversionRows]] as const) {
    if (!Number.isSafeInteger(rows) || rows < 0 || rows > MAX_ROWS) throw new RangeError(`${name} must be an integer from 0 to 2^31`);
  }
  const overlap = options.overlap ?? 0.4;
  if (!(overlap >= 0 && overlap <= 1)) throw new RangeError("overlap must be between 0 and 1");
  const publisherUsers = Math.max(1, Math.ceil(impressionRows / 4));
  const advertiserUsers = Math.max(1, Math.ceil(conversionRows / 2));
  const scenario: AdtechScenario = {
    seed: (options.seed ?? 1) >>> 0,
    impressionRows,
    conversionRows,
    publisherUsers,
    advertiserUsers,
    sharedUsers: Math.min(publisherUsers, Math.round(overlap * advertiserUsers)),
    campaigns: options.campaigns ?? 40,
    days: options.days ?? 30,
    endDate: options.endDate ?? "2026-11-15",
  };
  checkScenario(scenario);
  return scenario;
}

function checkScenario(s: AdtechScenario): void {
  const whole = (value: number, min: number, max: number) => Number.isSafeInteger(value) && value >= min && value <= max;
  if (!whole(s.seed, 0, 0xffffffff)) throw new RangeError("seed must be a 32-bit unsigned integer");
  if (!whole(s.impressionRows, 0, MAX_ROWS) || !whole(s.conversionRows, 0, MAX_ROWS)) throw new RangeError("row counts must be integers from 0 to 2^31");
  if (!whole(s.publisherUsers, 1, 2 ** 30) || !whole(s.advertiserUsers, 1, 2 ** 30)) throw new RangeError("user populations must be from 1 to 2^30");
  if (!whole(s.sharedUsers, 0, Math.min(s.publisherUsers, s.advertiserUsers))) throw new RangeError("sharedUsers must be at most both populations");
  if (!whole(s.campaigns, 3, 999)) throw new RangeError("campaigns must be from 3 to 999");
  if (!whole(s.days, 1, 3660)) throw new RangeError("days must be from 1 to 3660");
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s.endDate) || Number.isNaN(Date.parse(`${s.endDate}T00:00:00Z`))) throw new RangeError("endDate must be YYYY-MM-DD");
}

// ---------------------------------------------------------------------------------------------------------------
// Primitives

/** murmur3's 32-bit finalizer: a bijection on 32-bit integers with full avalanche. */
function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: a small, fast 32-bit PRNG with a 2^32 period, plenty for a block of rows. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}


/** A uniform 32-bit number → [0, n), with a bias below n / 2^32 (negligible at these sizes). */
const below = (random: number, n: number) => Math.floor((random / 4294967296) * n);

/** A table mapping the top 16 bits of a random number to an index, distributed by the given weights. */
function weightedTable(weights: readonly number[]): Uint16Array {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const table = new Uint16Array(65536);
  let index = 0;
  let cumulative = weights[0]! / total;
  for (let slot = 0; slot < 65536; slot++) {
    while ((slot + 0.5) / 65536 > cumulative && index < weights.length - 1) cumulative += weights[++index]! / total;
    table[slot] = index;
  }
  return table;
}

const SITES = [
  "news.example", "sports.example", "weather.example", "video.example", "recipes.example", "finance.example",
  "travel.example", "gaming.example", "music.example", "autos.example", "tech.example", "health.example",
];
const SITE_TABLE = weightedTable(SITES.map((_, rank) => 1 / (rank + 1)));
const DEVICES = ["mobile", "desktop", "tablet", "ctv"];
const DEVICE_TABLE = weightedTable([55, 30, 8, 7]);
const PILOT_CAMPAIGNS = 2;
const BLOCK_ROWS = 65_536;
/** Every row of either dataset draws exactly this many numbers, so a block can be fast-forwarded. */
const DRAWS_PER_ROW = 4;
const DAY_MS = 86_400_000;

/** The campaign ids and the popularity table: Zipf (s = 1.1), the last two pilots with 0.02% of traffic each. */
function campaignsOf(count: number): { ids: string[]; table: Uint16Array } {
  const ids = Array.from({ length: count }, (_, index) => `cmp-${String(index + 1).padStart(3, "0")}`);
  const regular = Array.from({ length: count - PILOT_CAMPAIGNS }, (_, rank) => 1 / (rank + 1) ** 1.1);
  const regularTotal = regular.reduce((sum, weight) => sum + weight, 0);
  const pilot = (regularTotal * 0.0002) / (1 - PILOT_CAMPAIGNS * 0.0002);
  return { ids, table: weightedTable([...regular, ...Array<number>(PILOT_CAMPAIGNS).fill(pilot)]) };
}

function datesOf(endDate: string, days: number): string[] {
  const end = Date.parse(`${endDate}T00:00:00Z`);
  return Array.from({ length: days }, (_, index) => new Date(end - (days - 1 - index) * DAY_MS).toISOString().slice(0, 10));
}

function userIdKeys(seed: number): [number, number] {
  return [fmix32(seed ^ 0x5bd1e995), fmix32(seed ^ 0x27d4eb2f)];
}

/**
 * The user id of a user index, as both parties' data carry it: a keyed 64-bit mix of the index (two murmur3
 * finalizers, each a bijection, so distinct indexes below 2^32 get distinct ids), as 16 hex characters.
 */
export function adtechUserId(seed: number, user: number): string {
  const [k1, k2] = userIdKeys(seed >>> 0);
  const high = fmix32(user ^ k1);
  const low = fmix32(Math.imul(user, 0x9e3779b1) ^ k2 ^ high);
  return high.toString(16).padStart(8, "0") + low.toString(16).padStart(8, "0");
}

/** The user's `slot`-th affinity campaign (slot 0..2), a fixed function of the user. */
function affinityFunction(seed: number, table: Uint16Array): (user: number, slot: number) => number {
  const key = fmix32(seed ^ 0x165667b1);
  return (user, slot) => table[fmix32((Math.imul(user, 3) + slot) ^ key) >>> 16]!;
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming

export interface AdtechCsvOptions {
  /** A header line with the field names first (default false: the engine reads CSV by position, without one). */
  header?: boolean;
  /** Rows [start, end) of the dataset (default: all of them), for splitting it into files. */
  start?: number;
  end?: number;
  /** Approximate bytes per chunk (default 1 MiB). */
  chunkBytes?: number;
}

/** Rows in the dataset. */
export function adtechRows(dataset: AdtechDataset, scenario: AdtechScenario): number {
  return dataset === "impressions" ? scenario.impressionRows : scenario.conversionRows;
}

const ascii = (text: string) => Uint8Array.from(Buffer.from(text, "latin1"));
const HEX_DIGITS = ascii("0123456789abcdef");
const COMMA = 44;
const NEWLINE = 10;
const ZERO = 48;

/**
 * Builds CSV bytes in a preallocated buffer: generating rows as JavaScript strings costs about twice as much
 * (concatenation, then encoding), and this is the demo's and the benchmark's hot loop.
 */
class CsvBuffer {
  buffer: Buffer;
  position = 0;
  constructor(readonly capacity: number) {
    this.buffer = Buffer.allocUnsafe(capacity + 512);
  }
  get full(): boolean {
    return this.position >= this.capacity;
  }
  /** The bytes so far, handed over; the next row goes to a fresh buffer. */
  take(): Buffer {
    const taken = this.buffer.subarray(0, this.position);
    this.buffer = Buffer.allocUnsafe(this.capacity + 512);
    this.position = 0;
    return taken;
  }
  bytes(bytes: Uint8Array): void {
    const { buffer } = this;
    let position = this.position;
    for (let i = 0; i < bytes.length; i++) buffer[position++] = bytes[i]!;
    this.position = position;
  }
  byte(value: number): void {
    this.buffer[this.position++] = value;
  }
  hex32(value: number): void {
    const { buffer } = this;
    const position = this.position;
    for (let i = 0; i < 8; i++) buffer[position + i] = HEX_DIGITS[(value >>> (28 - 4 * i)) & 15]!;
    this.position = position + 8;
  }
  /** A non-negative integer below 10^9. */
  integer(value: number): void {
    if (value < 10) {
      this.buffer[this.position++] = ZERO + value;
      return;
    }
    const digits = value < 100 ? 2 : value < 1000 ? 3 : value < 10_000 ? 4 : value < 100_000 ? 5 : value < 1_000_000 ? 6 : value < 10_000_000 ? 7 : value < 100_000_000 ? 8 : 9;
    let rest = value;
    for (let i = digits - 1; i >= 0; i--) {
      this.buffer[this.position + i] = ZERO + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    this.position += digits;
  }
}

/**
 * The dataset as CSV (comma-separated, no quoting needed: no value contains a comma, quote or newline, and dates are
 * YYYY-MM-DD), in chunks of about chunkBytes ASCII bytes. Nothing but one chunk is held in memory.
 */
export function* adtechCsvChunks(dataset: AdtechDataset, scenario: AdtechScenario, options: AdtechCsvOptions = {}): Generator<Buffer> {
  checkScenario(scenario);
  const total = adtechRows(dataset, scenario);
  const start = options.start ?? 0;
  const end = options.end ?? total;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > total || start > end) {
    throw new RangeError(`rows [${start}, ${end}) are not within the dataset's ${total}`);
  }
  const { ids, table: campaignTable } = campaignsOf(scenario.campaigns);
  // Every categorical value pre-encoded with the comma that follows it.
  const campaigns = ids.map((id) => ascii(`${id},`));
  const dates = datesOf(scenario.endDate, scenario.days).map((date) => ascii(`,${date},`));
  const sites = SITES.map((site) => ascii(`${site},`));
  const devices = DEVICES.map((device) => ascii(`${device},`));
  const days = scenario.days;
  const [k1, k2] = userIdKeys(scenario.seed);
  const affinity = affinityFunction(scenario.seed, campaignTable);
  const datasetKey = dataset === "impressions" ? 0x1b873593 : 0xcc9e2d51;
  const out = new CsvBuffer(options.chunkBytes ?? 1 << 20);
  const userId = (user: number) => {
    const high = fmix32(user ^ k1);
    out.hex32(high);
    out.hex32(fmix32(Math.imul(user, 0x9e3779b1) ^ k2 ^ high));
  };

  if (options.header) out.bytes(ascii(`${ADTECH_FIELDS[dataset].map((field) => field.name).join(",")}\n`));
  let row = start;
  while (row < end) {
    const block = Math.floor(row / BLOCK_ROWS);
    const random = mulberry32(fmix32(fmix32(scenario.seed ^ datasetKey) + block));
    // Rows before `row` in this block are drawn and discarded, so that a range starting mid-block matches.
    for (let i = 0; i < (row - block * BLOCK_ROWS) * DRAWS_PER_ROW; i++) random();
    const blockEnd = Math.min(end, (block + 1) * BLOCK_ROWS);
    if (dataset === "impressions") {
      const users = scenario.publisherUsers;
      for (; row < blockEnd; row++) {
        const user = below(random(), users);
        const r = random();
        // 15% run-of-network (38/256), else one of the user's three affinity campaigns.
        const campaign = (r & 255) < 38 ? campaignTable[r >>> 16]! : affinity(user, ((r >>> 8) & 255) % 3);
        const placement = random();
        const count = random();
        // Dates uniform over the window; sites and devices by popularity; 1 impression (50%), 2 (25%), … up to 8.
        userId(user);
        out.bytes(dates[((placement & 0xffff) * days) >>> 16]!);
        out.bytes(campaigns[campaign]!);
        out.bytes(sites[SITE_TABLE[placement >>> 16]!]!);
        out.bytes(devices[DEVICE_TABLE[count & 0xffff]!]!);
        out.byte(ZERO + 1 + Math.min(7, Math.clz32(count >>> 16) - 16));
        out.byte(NEWLINE);
        if (out.full) yield out.take();
      }
    } else {
      const first = scenario.publisherUsers - scenario.sharedUsers;
      const users = scenario.advertiserUsers;
      for (; row < blockEnd; row++) {
        const user = first + below(random(), users);
        const r = random();
        // 70% (179/256) of conversions are of one of the user's affinity campaigns.
        const campaign = (r & 255) < 179 ? affinity(user, ((r >>> 8) & 255) % 3) : campaignTable[r >>> 16]!;
        const a = random();
        const b = random();
        // 1 conversion (75%), 2 (19%), 3 or 4; a basket of $4.99–$49.98 times 1 (50%), 2 (25%), 3 or 4 (12.5% each).
        const conversions = 1 + Math.min(3, (Math.clz32(a >>> 16) - 16) >>> 1);
        const top = b >>> 28;
        const basket = top >= 8 ? 1 : top >= 4 ? 2 : top >= 2 ? 3 : 4;
        const cents = conversions * basket * (499 + ((b & 0x0fffffff) % 4500));
        userId(user);
        out.bytes(dates[((a & 0xffff) * days) >>> 16]!);
        out.bytes(campaigns[campaign]!);
        out.byte(ZERO + conversions);
        out.byte(COMMA);
        out.integer(Math.floor(cents / 100));
        out.byte(46); // '.'
        const fraction = cents % 100;
        out.byte(ZERO + Math.floor(fraction / 10));
        out.byte(ZERO + (fraction % 10));
        out.byte(NEWLINE);
        if (out.full) yield out.take();
      }
    }
  }
  if (out.position > 0) yield out.take();
}

/** The same as a Node stream of Buffers, for pipes (e.g. writeParquet's CSV input). */
export function adtechCsvStream(dataset: AdtechDataset, scenario: AdtechScenario, options: AdtechCsvOptions = {}): Readable {
  return Readable.from(adtechCsvChunks(dataset, scenario, options), { objectMode: false });
}

export interface CsvFileResult {
  rows: number;
  bytes: number;
}

/** Writes the dataset (or rows [start, end) of it) as a CSV file; resolves with the rows and bytes written. */
export async function writeAdtechCsv(dataset: AdtechDataset, scenario: AdtechScenario, path: string, options: AdtechCsvOptions = {}): Promise<CsvFileResult> {
  let bytes = 0;
  const counted = function* () {
    for (const chunk of adtechCsvChunks(dataset, scenario, options)) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  await pipeline(Readable.from(counted(), { objectMode: false }), createWriteStream(path));
  return { rows: (options.end ?? adtechRows(dataset, scenario)) - (options.start ?? 0), bytes };
}
