import { DuckDBInstance } from '@duckdb/node-api';
const c = await (await DuckDBInstance.create(':memory:')).connect();
await c.run("PRAGMA add_parquet_key('k', 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=')");
const r = await c.runAndReadAll(`select count(*), sum(i2) from read_parquet('/tmp/pme-research/files/out_from_duck.parquet', encryption_config={footer_key:'k'})`); console.log(JSON.stringify(r.getRowObjectsJson()));
