import { DuckDBInstance } from '@duckdb/node-api';
const c = await (await DuckDBInstance.create(':memory:')).connect();
await c.run("PRAGMA add_parquet_key('k', 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=')");
const r = await c.runAndReadAll("select count(*) n, sum(i) s, count(distinct s) d, count(n) nn, sum(len(l)) ll from read_parquet('/tmp/pme-research/files/pa_multi.parquet', encryption_config={footer_key:'k'}) where i >= 0");
console.log(JSON.stringify(r.getRowObjectsJson()));
const r2 = await c.runAndReadAll("select sum(i) from read_parquet('/tmp/pme-research/files/pa_multi.parquet', encryption_config={footer_key:'k'}) where i between 55000 and 55010");
console.log(JSON.stringify(r2.getRowObjectsJson()));
