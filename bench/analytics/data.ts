// The analytics benchmark's data: the demo's two ad-tech datasets, generated once per (generator version, rows,
// seed) into .cache/bench-data/analytics/ and kept, each written as plain Parquet and as encrypted Parquet with
// identical row groups, in the layout a local dataset location takes (one folder per dataset, part files in it).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeParquet } from "@cleanroom/parquet-crypto";
import {
  ADTECH_FIELDS,
  ADTECH_GENERATOR_VERSION,
  ADTECH_VIEWS,
  adtechCsvStream,
  adtechScenario,
  type AdtechDataset,
  type AdtechScenario,
} from "../../packages/cli/src/demo/adtech-data.js";
import { repoRoot } from "../../test/support/repo-root.js";

/** The benchmark's data key (not a secret: it protects synthetic data). 32 bytes, as every data key is. */
export const BENCH_KEY: Buffer = createHash("sha256").update("cleanroom analytics benchmark key v1").digest();

/** Rows per row group: the encrypted profile's default (docs/parquet-encryption.md), for both variants. */
export const ROW_GROUP_SIZE = 100_000;

export const DATASETS: readonly AdtechDataset[] = ["impressions", "conversions"];

export interface DatasetFiles {
  /** The dataset's folder (what a local dataset document's location.path would name). */
  readonly dir: string;
  /** Its one part file. */
  readonly file: string;
  readonly bytes: number;
}

export interface DatasetInfo {
  readonly view: string;
  readonly rows: number;
  readonly rowGroups: number;
  readonly plain: DatasetFiles;
  readonly encrypted: DatasetFiles;
}

export interface AnalyticsData {
  readonly dir: string;
  readonly scenario: AdtechScenario;
  readonly key: Buffer;
  readonly datasets: Readonly<Record<AdtechDataset, DatasetInfo>>;
  /** True when the files were already there; then `prepareSeconds` is only the time to check them. */
  readonly cached: boolean;
  readonly prepareSeconds: number;
}

interface Manifest {
  generatorVersion: number;
  scenario: AdtechScenario;
  rowGroupSize: number;
  keySha256: string;
  datasets: Record<AdtechDataset, { rows: number; rowGroups: number }>;
}

const PART = "part-00000.parquet";

function filesOf(dir: string, variant: "plain" | "encrypted", dataset: AdtechDataset): DatasetFiles {
  const folder = join(dir, variant, ADTECH_VIEWS[dataset]);
  const file = join(folder, PART);
  return { dir: folder, file, bytes: existsSync(file) ? statSync(file).size : 0 };
}

export interface DataRequest {
  impressionRows: number;
  conversionRows: number;
  seed: number;
  /** Where caches go; default `<repo>/.cache/bench-data/analytics`. */
  root?: string;
  log?: (line: string) => void;
}

/**
 * The two datasets for a benchmark run, generated on first use. The generator streams CSV straight into the Parquet
 * writer (no CSV on disk); the encrypted file is then written from the plain one by the same writer with the same
 * row-group size, so both hold the same rows in the same row groups and differ only by encryption.
 * A folder is complete only once its manifest is written (it is built under a temporary name and renamed).
 */
export async function prepareAnalyticsData(request: DataRequest): Promise<AnalyticsData> {
  const started = performance.now();
  const log = request.log ?? (() => undefined);
  const scenario = adtechScenario({ impressionRows: request.impressionRows, conversionRows: request.conversionRows, seed: request.seed });
  const root = request.root ?? join(repoRoot(), ".cache", "bench-data", "analytics");
  const name = `v${ADTECH_GENERATOR_VERSION}-${scenario.impressionRows}x${scenario.conversionRows}-${scenario.seed}`;
  const dir = join(root, name);
  const keySha256 = createHash("sha256").update(BENCH_KEY).digest("hex");
  const expected = (manifest: Manifest) =>
    manifest.generatorVersion === ADTECH_GENERATOR_VERSION &&
    manifest.rowGroupSize === ROW_GROUP_SIZE &&
    manifest.keySha256 === keySha256 &&
    JSON.stringify(manifest.scenario) === JSON.stringify(scenario);

  let manifest: Manifest | undefined;
  const manifestPath = join(dir, "manifest.json");
  if (existsSync(manifestPath)) {
    const found = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
    const complete = DATASETS.every((dataset) => existsSync(filesOf(dir, "plain", dataset).file) && existsSync(filesOf(dir, "encrypted", dataset).file));
    if (expected(found) && complete) manifest = found;
  }
  const cached = manifest !== undefined;
  if (manifest === undefined) {
    log(`generating ${scenario.impressionRows.toLocaleString("en")} impressions + ${scenario.conversionRows.toLocaleString("en")} conversions (seed ${scenario.seed}) into ${dir}`);
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    const counts = await Promise.all(
      DATASETS.map(async (dataset) => {
        const plain = filesOf(staging, "plain", dataset);
        const encrypted = filesOf(staging, "encrypted", dataset);
        mkdirSync(plain.dir, { recursive: true });
        mkdirSync(encrypted.dir, { recursive: true });
        const fields = ADTECH_FIELDS[dataset];
        const t0 = performance.now();
        const written = await writeParquet({ input: { format: "csv", stream: adtechCsvStream(dataset, scenario) }, fields, outputPath: plain.file, rowGroupSize: ROW_GROUP_SIZE });
        const t1 = performance.now();
        const sealed = await writeParquet({ input: { format: "parquet", path: plain.file }, fields, outputPath: encrypted.file, key: BENCH_KEY, rowGroupSize: ROW_GROUP_SIZE });
        const t2 = performance.now();
        if (sealed.rows !== written.rows || sealed.rowGroups !== written.rowGroups) {
          throw new Error(`${dataset}: the encrypted copy has ${sealed.rows} rows in ${sealed.rowGroups} groups, the plain ${written.rows} in ${written.rowGroups}`);
        }
        log(`  ${dataset}: ${written.rows} rows, ${written.rowGroups} row groups; plain in ${((t1 - t0) / 1000).toFixed(1)} s, encrypted in ${((t2 - t1) / 1000).toFixed(1)} s`);
        return [dataset, written] as const;
      }),
    );
    manifest = { generatorVersion: ADTECH_GENERATOR_VERSION, scenario, rowGroupSize: ROW_GROUP_SIZE, keySha256, datasets: Object.fromEntries(counts) as Manifest["datasets"] };
    writeFileSync(join(staging, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  }
  const datasets = Object.fromEntries(
    DATASETS.map((dataset) => [
      dataset,
      {
        view: ADTECH_VIEWS[dataset],
        rows: manifest.datasets[dataset].rows,
        rowGroups: manifest.datasets[dataset].rowGroups,
        plain: filesOf(dir, "plain", dataset),
        encrypted: filesOf(dir, "encrypted", dataset),
      },
    ]),
  ) as Record<AdtechDataset, DatasetInfo>;
  return { dir, scenario, key: BENCH_KEY, datasets, cached, prepareSeconds: (performance.now() - started) / 1000 };
}
