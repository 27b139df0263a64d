// The zip container of torch.save (PyTorchStreamWriter): entries stored without compression, possibly
// ZIP64 when the archive passes 4 GiB. Only the central directory and local headers are read; an entry's
// data is then a plain byte range of the file, read lazily.
import { CheckpointFormatError } from './dtypes.js';
import type { ByteSource } from './source.js';

export interface ZipEntry {
  name: string;
  /** Absolute offset of the entry's (stored) data. */
  dataOffset: number;
  size: number;
}

const EOCD_SIG = 0x06054b50, Z64_LOC_SIG = 0x07064b50, Z64_EOCD_SIG = 0x06064b50, CDH_SIG = 0x02014b50, LFH_SIG = 0x04034b50;

function dv(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }

function u64(v: DataView, at: number, where: string): number {
  const x = v.getBigUint64(at, true);
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointFormatError(`${where}: 64-bit field ${x} is absurd`);
  return Number(x);
}

export async function isZip(src: ByteSource): Promise<boolean> {
  if (src.size < 4) return false;
  const b = await src.read(0, 4);
  return dv(b).getUint32(0, true) === LFH_SIG;
}

/** Reads the central directory. Refuses compressed, encrypted or out-of-bounds entries with a clear error. */
export async function readZipDirectory(src: ByteSource): Promise<ZipEntry[]> {
  const where = src.name;
  if (src.size < 22) throw new CheckpointFormatError(`${where}: truncated zip: ${src.size} bytes`);
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tail = await src.read(src.size - tailLen, tailLen);
  const tv = dv(tail);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD_SIG && i + 22 + tv.getUint16(i + 20, true) <= tailLen) { eocd = i; break; }
  }
  if (eocd < 0) throw new CheckpointFormatError(`${where}: not a zip archive or truncated (no end-of-central-directory record)`);
  const eocdAbs = src.size - tailLen + eocd;
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (tv.getUint16(eocd + 4, true) !== 0 || tv.getUint16(eocd + 6, true) !== 0) {
    if (count !== 0xffff) throw new CheckpointFormatError(`${where}: multi-disk zip archives are not supported`);
  }
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (eocdAbs < 20) throw new CheckpointFormatError(`${where}: ZIP64 archive without its locator`);
    const loc = dv(await src.read(eocdAbs - 20, 20));
    if (loc.getUint32(0, true) !== Z64_LOC_SIG) throw new CheckpointFormatError(`${where}: ZIP64 locator missing`);
    const recOff = u64(loc, 8, where);
    if (recOff + 56 > eocdAbs) throw new CheckpointFormatError(`${where}: ZIP64 end record offset ${recOff} is out of bounds`);
    const rec = dv(await src.read(recOff, 56));
    if (rec.getUint32(0, true) !== Z64_EOCD_SIG) throw new CheckpointFormatError(`${where}: ZIP64 end-of-central-directory record missing`);
    count = u64(rec, 32, where);
    cdSize = u64(rec, 40, where);
    cdOffset = u64(rec, 48, where);
  }
  if (cdOffset + cdSize > src.size) throw new CheckpointFormatError(`${where}: central directory [${cdOffset}, ${cdOffset + cdSize}) is outside the file (${src.size} bytes)`);
  if (count * 46 > cdSize) throw new CheckpointFormatError(`${where}: central directory of ${cdSize} bytes cannot hold ${count} entries`);
  const cd = await src.read(cdOffset, cdSize);
  const v = dv(cd);
  const dec = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || v.getUint32(p, true) !== CDH_SIG) throw new CheckpointFormatError(`${where}: corrupt central directory at entry ${i}`);
    const flags = v.getUint16(p + 8, true), method = v.getUint16(p + 10, true);
    let csize = v.getUint32(p + 20, true), usize = v.getUint32(p + 24, true);
    const nlen = v.getUint16(p + 28, true), xlen = v.getUint16(p + 30, true), clen = v.getUint16(p + 32, true);
    let lho = v.getUint32(p + 42, true);
    if (p + 46 + nlen + xlen + clen > cdSize) throw new CheckpointFormatError(`${where}: corrupt central directory at entry ${i} (lengths run past it)`);
    const name = dec.decode(cd.subarray(p + 46, p + 46 + nlen));
    // ZIP64 extended information: the 64-bit values of the fields saturated at 0xffffffff, in this order.
    let x = p + 46 + nlen;
    const xend = x + xlen;
    while (x + 4 <= xend) {
      const id = v.getUint16(x, true), len = v.getUint16(x + 2, true);
      if (x + 4 + len > xend) throw new CheckpointFormatError(`${where}: entry "${name}": corrupt extra field`);
      if (id === 0x0001) {
        let q = x + 4;
        const take = () => {
          if (q + 8 > x + 4 + len) throw new CheckpointFormatError(`${where}: entry "${name}": short ZIP64 extra field`);
          const val = u64(v, q, where); q += 8; return val;
        };
        if (usize === 0xffffffff) usize = take();
        if (csize === 0xffffffff) csize = take();
        if (lho === 0xffffffff) lho = take();
      }
      x += 4 + len;
    }
    p += 46 + nlen + xlen + clen;
    if (flags & 1) throw new CheckpointFormatError(`${where}: entry "${name}" is encrypted`);
    if (method !== 0) throw new CheckpointFormatError(`${where}: entry "${name}" is compressed (method ${method}); torch.save stores entries uncompressed — re-save the checkpoint with torch.save`);
    if (csize !== usize) throw new CheckpointFormatError(`${where}: entry "${name}" is stored but its sizes differ (${csize} vs ${usize})`);
    if (lho + 30 > src.size) throw new CheckpointFormatError(`${where}: entry "${name}" local header offset ${lho} is outside the file`);
    const lh = dv(await src.read(lho, 30));
    if (lh.getUint32(0, true) !== LFH_SIG) throw new CheckpointFormatError(`${where}: entry "${name}": bad local header at ${lho}`);
    const dataOffset = lho + 30 + lh.getUint16(26, true) + lh.getUint16(28, true);
    if (dataOffset + csize > src.size) throw new CheckpointFormatError(`${where}: entry "${name}" data [${dataOffset}, ${dataOffset + csize}) runs past the end of the file (${src.size} bytes): truncated?`);
    entries.push({ name, dataOffset, size: csize });
  }
  return entries;
}
