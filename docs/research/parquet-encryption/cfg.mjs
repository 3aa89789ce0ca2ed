import { DuckDBInstance } from '@duckdb/node-api';
const opt = JSON.parse(process.argv[2]);
const i = await DuckDBInstance.create(':memory:', opt); const c = await i.connect();
const r = await c.runAndReadAll("select current_setting('lock_configuration') l, current_setting('force_mbedtls_unsafe') m");
console.log(process.argv[2], JSON.stringify(r.getRowObjectsJson()));
