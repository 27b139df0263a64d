// Builders for checkpoint fixtures written byte by byte in the tests: pickles with the opcodes torch.save
// emits, stored zip archives (optionally ZIP64), and whole torch.save-like files. No PyTorch needed.
import type { SourceDType } from '../../../nn/io/dtypes.js';

const enc = new TextEncoder();

/** Emits pickle opcodes the way CPython's pickler does for torch.save (protocol 2 by default). */
export class PickleWriter {
  private out: number[] = [];
  private memo = 0;
  constructor(readonly protocol = 2) {
    this.raw(0x80, protocol);
  }
  raw(...b: number[]): this { for (const x of b) this.out.push(x & 0xff); return this; }
  private u32(n: number): this { return this.raw(n, n >>> 8, n >>> 16, n >>> 24); }
  bytesOf(b: Uint8Array): this { for (const x of b) this.out.push(x); return this; }
  /** BINPUT (protocol 2) or MEMOIZE (4+), as the pickler does after each new object. */
  put(): this { return this.protocol >= 4 ? this.raw(0x94) : this.memo < 256 ? this.raw(0x71, this.memo++) : this.raw(0x72).u32(this.memo++); }
  get(i: number): this { return i < 256 ? this.raw(0x68, i) : this.raw(0x6a).u32(i); }
  mark(): this { return this.raw(0x28); }
  str(s: string): this {
    const b = enc.encode(s);
    if (this.protocol >= 4 && b.length < 256) this.raw(0x8c, b.length); else this.raw(0x58).u32(b.length);
    return this.bytesOf(b).put();
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n, n >>> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.raw(0x4a).u32(n >>> 0);
    // LONG1 little-endian two's complement
    const bytes: number[] = [];
    let v = BigInt(n);
    do { bytes.push(Number(v & 0xffn)); v >>= 8n; } while (v !== 0n && v !== -1n);
    if ((bytes[bytes.length - 1] & 0x80) !== (n < 0 ? 0x80 : 0)) bytes.push(n < 0 ? 0xff : 0);
    return this.raw(0x8a, bytes.length, ...bytes);
  }
  global(module: string, name: string): this {
    if (this.protocol >= 4) return this.str(module).str(name).raw(0x93).put();
    return this.raw(0x63).bytesOf(enc.encode(`${module}\n${name}\n`)).put();
  }
  tuple(n: number): this {
    if (n === 0) return this.raw(0x29);
    if (n <= 3) return this.raw(0x84 + n).put();
    return this.raw(0x74).put(); // after a MARK
  }
  emptyDict(): this { return this.raw(0x7d).put(); }
  setitems(): this { return this.raw(0x75); }
  reduce(): this { return this.raw(0x52).put(); }
  bool(b: boolean): this { return this.raw(b ? 0x88 : 0x89); }
  none(): this { return this.raw(0x4e); }
  binpersid(): this { return this.raw(0x51); }
  build(): this { return this.raw(0x62); }
  stop(): Uint8Array {
    this.raw(0x2e);
    if (this.protocol >= 4) {
      // One FRAME around everything after PROTO, as the protocol-4 pickler does.
      const body = this.out.slice(2);
      const n = body.length;
      return Uint8Array.from([0x80, this.protocol, 0x95, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff, 0, 0, 0, 0, ...body]);
    }
    return Uint8Array.from(this.out);
  }
}

export interface ZipFileEntry { name: string; data: Uint8Array; method?: number }

/** A stored zip like PyTorchStreamWriter writes: data aligned to 64 bytes via an extra field; zip64 on demand. */
export function makeZip(entries: ZipFileEntry[], { zip64 = false, align = 64 } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let pos = 0;
  const central: Uint8Array[] = [];
  const push = (b: Uint8Array) => { parts.push(b); pos += b.length; };
  for (const e of entries) {
    const name = enc.encode(e.name);
    const lho = pos;
    const z64Local = zip64 ? 20 : 0;
    let pad = (align - ((lho + 30 + name.length + z64Local + 4) % align)) % align;
    const extraLen = z64Local + 4 + pad;
    const h = new Uint8Array(30 + name.length + extraLen);
    const v = new DataView(h.buffer);
    v.setUint32(0, 0x04034b50, true); v.setUint16(4, zip64 ? 45 : 20, true); v.setUint16(8, e.method ?? 0, true);
    v.setUint32(18, zip64 ? 0xffffffff : e.data.length, true); v.setUint32(22, zip64 ? 0xffffffff : e.data.length, true);
    v.setUint16(26, name.length, true); v.setUint16(28, extraLen, true);
    h.set(name, 30);
    let x = 30 + name.length;
    if (zip64) { v.setUint16(x, 1, true); v.setUint16(x + 2, 16, true); v.setBigUint64(x + 4, BigInt(e.data.length), true); v.setBigUint64(x + 12, BigInt(e.data.length), true); x += 20; }
    v.setUint16(x, 0x4246, true); v.setUint16(x + 2, pad, true); // 'FB' padding field, as torch writes
    push(h); push(e.data);
    const cx = zip64 ? 28 : 0;
    const c = new Uint8Array(46 + name.length + cx);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true); cv.setUint16(4, 45, true); cv.setUint16(6, zip64 ? 45 : 20, true); cv.setUint16(10, e.method ?? 0, true);
    cv.setUint32(20, zip64 ? 0xffffffff : e.data.length, true); cv.setUint32(24, zip64 ? 0xffffffff : e.data.length, true);
    cv.setUint16(28, name.length, true); cv.setUint16(30, cx, true); cv.setUint32(42, zip64 ? 0xffffffff : lho, true);
    c.set(name, 46);
    if (zip64) {
      const y = 46 + name.length;
      cv.setUint16(y, 1, true); cv.setUint16(y + 2, 24, true);
      cv.setBigUint64(y + 4, BigInt(e.data.length), true); cv.setBigUint64(y + 12, BigInt(e.data.length), true); cv.setBigUint64(y + 20, BigInt(lho), true);
    }
    central.push(c);
    void pad; pad = 0;
  }
  const cdOffset = pos;
  for (const c of central) push(c);
  const cdSize = pos - cdOffset;
  if (zip64) {
    const rec = new Uint8Array(56); const rv = new DataView(rec.buffer);
    rv.setUint32(0, 0x06064b50, true); rv.setBigUint64(4, 44n, true); rv.setUint16(12, 45, true); rv.setUint16(14, 45, true);
    rv.setBigUint64(24, BigInt(entries.length), true); rv.setBigUint64(32, BigInt(entries.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true); rv.setBigUint64(48, BigInt(cdOffset), true);
    const recOff = pos; push(rec);
    const loc = new Uint8Array(20); const lv = new DataView(loc.buffer);
    lv.setUint32(0, 0x07064b50, true); lv.setBigUint64(8, BigInt(recOff), true); lv.setUint32(16, 1, true);
    push(loc);
  }
  const end = new Uint8Array(22); const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, zip64 ? 0xffff : entries.length, true); ev.setUint16(10, zip64 ? 0xffff : entries.length, true);
  ev.setUint32(12, zip64 ? 0xffffffff : cdSize, true); ev.setUint32(16, zip64 ? 0xffffffff : cdOffset, true);
  push(end);
  const out = new Uint8Array(pos);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const STORAGE_CLASS: Partial<Record<SourceDType, string>> = {
  F32: 'FloatStorage', F64: 'DoubleStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', I64: 'LongStorage',
  I32: 'IntStorage', I16: 'ShortStorage', I8: 'CharStorage', U8: 'ByteStorage', BOOL: 'BoolStorage',
};
const ITEM: Partial<Record<SourceDType, number>> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface FixtureStorage { key: string; dtype: SourceDType; bytes: Uint8Array }
export interface FixtureTensor {
  name: string; storage: string; offset?: number; shape: number[]; stride?: number[];
  /** Pickle as an nn.Parameter (_rebuild_parameter around the tensor). */
  parameter?: boolean;
}

function contiguousStride(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** The data.pkl of `torch.save(state_dict)` (an OrderedDict of tensors, optionally under nested dict keys). */
export function statePickle(storages: FixtureStorage[], tensors: FixtureTensor[], { protocol = 2, nest = [] as string[] } = {}): Uint8Array {
  const p = new PickleWriter(protocol);
  const byKey = new Map(storages.map((s) => [s.key, s]));
  for (const k of nest) { p.emptyDict(); p.str(k); }
  p.global('collections', 'OrderedDict');
  p.tuple(0).reduce();
  p.mark();
  for (const t of tensors) {
    const st = byKey.get(t.storage)!;
    p.str(t.name);
    if (t.parameter) p.global('torch._utils', '_rebuild_parameter');
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.mark();
    p.mark();
    p.str('storage');
    p.global('torch', STORAGE_CLASS[st.dtype]!);
    p.str(st.key); p.str('cpu'); p.int(st.bytes.length / ITEM[st.dtype]!);
    p.tuple(5);
    p.binpersid();
    p.int(t.offset ?? 0);
    // TUPLE1..3 take their items from the stack; longer tuples are MARK ... TUPLE, as pickle writes them.
    if (t.shape.length > 3) p.mark();
    for (const d of t.shape) p.int(d);
    p.tuple(t.shape.length);
    const stride = t.stride ?? contiguousStride(t.shape);
    if (stride.length > 3) p.mark();
    for (const d of stride) p.int(d);
    p.tuple(stride.length);
    p.bool(false);
    p.global('collections', 'OrderedDict').tuple(0).reduce();
    p.tuple(6); // closes the MARK
    p.reduce();
    if (t.parameter) { p.bool(true); p.global('collections', 'OrderedDict').tuple(0).reduce(); p.tuple(3); p.reduce(); }
  }
  p.setitems();
  // state_dict()._metadata, set on the OrderedDict with BUILD as the pickler does
  p.emptyDict(); p.str('_metadata'); p.global('collections', 'OrderedDict').tuple(0).reduce();
  p.mark(); p.str(''); p.emptyDict(); p.str('version'); p.int(1); p.raw(0x73); p.setitems(); p.raw(0x73);
  p.build();
  for (let i = 0; i < nest.length; i++) p.raw(0x73); // SETITEM into the enclosing dicts
  return p.stop();
}

/** A complete torch.save-like zip: <archive>/data.pkl, <archive>/data/<key>, byteorder, version. */
export function torchSave(storages: FixtureStorage[], tensors: FixtureTensor[],
  { archive = 'archive', protocol = 2, zip64 = false, nest = [] as string[], pickle = undefined as Uint8Array | undefined } = {}): Uint8Array {
  const pkl = pickle ?? statePickle(storages, tensors, { protocol, nest });
  return makeZip([
    { name: `${archive}/data.pkl`, data: pkl },
    { name: `${archive}/byteorder`, data: enc.encode('little') },
    ...storages.map((s) => ({ name: `${archive}/data/${s.key}`, data: s.bytes })),
    { name: `${archive}/version`, data: enc.encode('3\n') },
    { name: `${archive}/.data/serialization_id`, data: enc.encode('1234567890') },
  ], { zip64 });
}

export function bytesOf(a: ArrayBufferView): Uint8Array { return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice(); }

/** Deterministic PRNG (mulberry32) for fixtures and fuzzing. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
