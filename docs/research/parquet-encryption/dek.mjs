// Extract + unwrap the footer DEK of a PME file written with parquet key-tools (PKMT1, internal key material, single wrapping).
import fs from 'fs'; import crypto from 'crypto';
export function readKeyMetadata(path) {
  const b = fs.readFileSync(path); // demo: whole file; real code: read tail only
  if (b.toString('latin1', b.length - 4) !== 'PARE') throw new Error('not an encrypted-footer parquet file');
  const n = b.readUInt32LE(b.length - 8); let p = b.length - 8 - n;
  const varint = () => { let r = 0n, s = 0n; for (;;) { const x = b[p++]; r |= BigInt(x & 0x7f) << s; s += 7n; if (!(x & 0x80)) return r; } };
  const skip = (t) => { if (t === 1 || t === 2) return; if (t === 3) { p++; return; } if (t >= 4 && t <= 6) { varint(); return; } if (t === 7) { p += 8; return; }
    if (t === 8) { const l = Number(varint()); p += l; return; } if (t === 12) { struct(() => {}); return; }
    if (t === 9 || t === 10) { const h = b[p++]; let sz = h >> 4; const et = h & 15; if (sz === 15) sz = Number(varint()); for (let i = 0; i < sz; i++) skip(et); return; } throw new Error('thrift type ' + t); };
  const struct = (onField) => { let last = 0; for (;;) { const h = b[p++]; if (h === 0) return; const d = h >> 4, t = h & 15; let id; if (d) id = last + d; else { const z = varint(); id = Number((z >> 1n) ^ -(z & 1n)); } last = id; if (!onField(id, t)) skip(t); } };
  let km = null;
  struct((id, t) => { if (id === 2 && t === 8) { const l = Number(varint()); km = b.subarray(p, p + l).toString('utf8'); p += l; return true; } return false; });
  return km;
}
export function unwrapDek(keyMaterialJson, masterKeys) {
  const m = JSON.parse(keyMaterialJson);
  if (m.doubleWrapping || m.internalStorage === false) throw new Error('unsupported key material ' + keyMaterialJson);
  const w = Buffer.from(m.wrappedDEK, 'base64'), mk = masterKeys[m.masterKeyID];
  const d = crypto.createDecipheriv(`aes-${mk.length * 8}-gcm`, mk, w.subarray(0, 12));
  d.setAAD(Buffer.from(m.masterKeyID, 'utf8')); d.setAuthTag(w.subarray(w.length - 16));
  return Buffer.concat([d.update(w.subarray(12, w.length - 16)), d.final()]);
}
