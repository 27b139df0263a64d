// Builders of small datasets in their published formats, for the converter tests.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodeRgbPng, encodeGrayPng } from '../../../../ullava/media/png.js';

export async function tempDir(name: string): Promise<string> { return mkdtemp(join(tmpdir(), `ullava-${name}-`)); }

export async function put(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

/** A small RGB PNG (the converters only need the file to exist; a real picture keeps it honest). */
export function rgbPng(width = 4, height = 3): Uint8Array {
  return encodeRgbPng({ width, height, data: new Uint8Array(width * height * 3).fill(128) });
}

/** An 8-bit grayscale PNG holding label values (row-major). */
export function labelPng(values: number[], width: number, height: number): Uint8Array {
  return encodeGrayPng(Uint8Array.from(values), width, height);
}

type Py = null | boolean | number | string | Py[] | { [k: string]: Py };

/**
 * Pickles a value at protocol 2 the way Python 2's cPickle.dump(obj, f, 2) lays it out (REFER's refs(*).p):
 * str as SHORT_BINSTRING / BINSTRING (Python 2 byte strings, ASCII here), containers memoised with BINPUT,
 * lists filled with MARK ... APPENDS and dicts with MARK ... SETITEMS. Opcodes: CPython Lib/pickletools.py.
 */
export function pickleProtocol2(value: Py): Uint8Array {
  const out: number[] = [0x80, 2];
  let memo = 0;
  const put = () => { if (memo < 256) out.push(0x71, memo++); else { out.push(0x72, memo & 255, (memo >> 8) & 255, (memo >> 16) & 255, memo >>> 24); memo++; } };
  const u32 = (n: number) => out.push(n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255);
  const emit = (v: Py): void => {
    if (v === null) out.push(0x4e);
    else if (v === true) out.push(0x88);
    else if (v === false) out.push(0x89);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < 256) out.push(0x4b, v);
      else if (Number.isInteger(v) && v >= 0 && v < 65536) out.push(0x4d, v & 255, v >> 8);
      else if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) { out.push(0x4a); u32(v >>> 0); }
      else { out.push(0x47); const b = Buffer.alloc(8); b.writeDoubleBE(v); out.push(...b); }
    } else if (typeof v === 'string') {
      const b = Buffer.from(v, 'latin1');
      if (b.length < 256) out.push(0x55, b.length); else { out.push(0x54); u32(b.length); }
      out.push(...b); put();
    } else if (Array.isArray(v)) {
      out.push(0x5d); put();
      if (v.length) { out.push(0x28); for (const x of v) emit(x); out.push(0x65); }
    } else {
      out.push(0x7d); put();
      const keys = Object.keys(v);
      if (keys.length) { out.push(0x28); for (const k of keys) { emit(k); emit(v[k]); } out.push(0x75); }
    }
  };
  emit(value);
  out.push(0x2e);
  return Uint8Array.from(out);
}

export async function readJsonl(path: string): Promise<Record<string, any>[]> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

/**
 * Pickles a value at protocol 0, as Python 2's pickle.dump(obj, f) does by default (text opcodes: MARK + LIST /
 * DICT, STRING literals with \x escapes for non-ASCII bytes, INT, PUT memo lines, APPEND / SETITEM).
 * Strings are written as their UTF-8 bytes, as a Python 2 program holding UTF-8 text would.
 */
export function pickleProtocol0(value: Py): Uint8Array {
  let out = '';
  let memo = 0;
  const put = () => { out += `p${memo++}\n`; };
  const lit = (s: string) => "'" + [...Buffer.from(s, 'utf8')].map((b) =>
    b === 0x5c ? '\\\\' : b === 0x27 ? "\\'" : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`).join('') + "'";
  const emit = (v: Py): void => {
    if (v === null) out += 'N';
    else if (v === true || v === false) out += `I0${v ? 1 : 0}\n`;
    else if (typeof v === 'number') out += Number.isInteger(v) ? `I${v}\n` : `F${v}\n`;
    else if (typeof v === 'string') { out += `S${lit(v)}\n`; put(); }
    else if (Array.isArray(v)) { out += '(l'; put(); for (const x of v) { emit(x); out += 'a'; } }
    else { out += '(d'; put(); for (const k of Object.keys(v)) { emit(k); emit(v[k]); out += 's'; } }
  };
  emit(value);
  return Uint8Array.from(Buffer.from(out + '.', 'latin1'));
}
