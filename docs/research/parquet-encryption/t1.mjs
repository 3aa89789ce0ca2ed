import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const q = async (s) => { try { const r = await c.runAndReadAll(s); console.log(s, '\n', JSON.stringify(r.getRowObjectsJson())); } catch (e) { console.log(s, '\n  ERROR:', e.message); } };
await q("select version() v, (select source_id from pragma_version()) s");
await q("select extension_name, loaded, installed, install_path, install_mode from duckdb_extensions()");
await q("select name, value, description from duckdb_settings() where name ilike '%external%' or name ilike '%lock%' or name ilike '%mbed%' or name ilike '%extension%' or name ilike '%encrypt%'");
