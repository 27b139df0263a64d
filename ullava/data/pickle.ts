// A safe reader of Python pickles (protocols 0-5) for data files such as REFER's refs(unc).p, which was
// written by Python 2 (cPickle) and is read by Python 3. A pickle is a program for a small stack machine;
// Python's unpickler will import and call any function the file names (GLOBAL + REDUCE), so loading an
// untrusted pickle can run code. This reader runs NO code: it builds plain JavaScript values and accepts
// a callable only from a short allow-list of constructors of plain data (set, frozenset, OrderedDict,
// bytes, bytearray, _codecs.encode as Python 3 writes bytes at protocol 2). Anything else -- classes,
// persistent ids, extension codes, out-of-band buffers -- is refused with the opcode and its byte offset.
//
// Values: None -> null, bool -> boolean, int -> number (bigint when beyond 2^53), float -> number,
// str -> string, bytes -> Uint8Array, Python 2 str -> string decoded as latin-1 (what Python 3's
// pickle.load(f, encoding='latin1') gives; option py2Strings: 'bytes' keeps the bytes), list and tuple ->
// array, dict -> plain object when every key is a string (else a Map), set / frozenset -> Set.
// Opcode reference: CPython's Lib/pickletools.py.
import { PICKLE_OPCODE_NAMES } from '../../nn/io/pickle.js';

export class PickleError extends Error {
  constructor(readonly file: string, readonly offset: number, message: string) {
    super(`${file}: ${message} (byte offset ${offset})`);
    this.name = 'PickleError';
  }
}

export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PickleValue[] | Set<PickleValue> | Map<PickleValue, PickleValue> | { [key: string]: PickleValue };

export interface UnpickleOptions {
  /** The file name used in error messages. */
  file?: string;
  /**
   * How Python 2 `str` (STRING, BINSTRING, SHORT_BINSTRING) is returned: latin-1 text (default, Python 3's
   * encoding='latin1'), 'utf8' (UTF-8 when the bytes are valid UTF-8, else latin-1: Python 2 programs kept
   * text as UTF-8 bytes), or the bytes themselves.
   */
  py2Strings?: 'latin1' | 'utf8' | 'bytes';
}

/** A global the pickle named, allowed because calling it only builds plain data. */
class AllowedGlobal { constructor(readonly name: string) {} }
const MARK = Symbol('mark');
/** A dict under construction: keys of any hashable kind, kept in insertion order. */
class PyDict { readonly entries = new Map<unknown, PickleValue>(); }

const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict', 'builtins.set', '__builtin__.set', 'builtins.frozenset', '__builtin__.frozenset',
  'builtins.bytes', '__builtin__.bytes', 'builtins.bytearray', '__builtin__.bytearray', '_codecs.encode',
  'builtins.dict', '__builtin__.dict', 'builtins.list', '__builtin__.list', 'builtins.tuple', '__builtin__.tuple',
]);

const OPCODE_NAMES = PICKLE_OPCODE_NAMES;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one pickled object from `bytes`. Throws PickleError (file, byte offset, what is wrong). */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): PickleValue {
  return new Unpickler(bytes, options.file ?? 'pickle', options.py2Strings ?? 'latin1').run();
}

class Unpickler {
  private pos = 0;
  private opStart = 0;
  private stack: unknown[] = [];
  private marks: number[] = [];
  private memo = new Map<number, unknown>();

  constructor(private readonly b: Uint8Array, private readonly file: string, private readonly py2: 'latin1' | 'utf8' | 'bytes') {}

  private fail(message: string, offset = this.opStart): never { throw new PickleError(this.file, offset, message); }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.b.length) {
      this.fail(`truncated pickle: ${what} needs ${n} bytes at offset ${this.pos}, the file has ${this.b.length - this.pos} left`);
    }
  }
  private u8(): number { this.need(1, 'an argument'); return this.b[this.pos++]; }
  private uint(n: 1 | 2 | 4 | 8, what: string): number {
    this.need(n, what);
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + this.b[this.pos + i];
    this.pos += n;
    if (!Number.isSafeInteger(v)) this.fail(`${what}: length ${v} is not a sane size`);
    return v;
  }
  private take(n: number, what: string): Uint8Array { this.need(n, what); const s = this.b.subarray(this.pos, this.pos + n); this.pos += n; return s; }
  private line(what: string): string {
    const end = this.b.indexOf(0x0a, this.pos);
    if (end < 0) this.fail(`truncated pickle: ${what} has no terminating newline`);
    const s = latin1.decode(this.b.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  private text(bytes: Uint8Array, what: string): string {
    try { return utf8.decode(bytes); } catch { this.fail(`${what} is not valid UTF-8`); }
  }
  private py2Str(bytes: Uint8Array): string | Uint8Array {
    if (this.py2 === 'bytes') return bytes.slice();
    if (this.py2 === 'utf8') { try { return utf8.decode(bytes); } catch { /* not UTF-8: latin-1 below */ } }
    return latin1.decode(bytes);
  }

  private pop(): unknown {
    if (this.stack.length === 0 || (this.marks.length && this.stack.length <= this.marks[this.marks.length - 1])) this.fail('malformed pickle: stack underflow');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail('malformed pickle: the stack is empty');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail('malformed pickle: no MARK before this opcode');
    const items = this.stack.splice(m);
    return items;
  }
  private int(v: bigint): number | bigint {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  private getMemo(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`malformed pickle: memo entry ${i} was never stored`);
    return this.memo.get(i);
  }
  private dictOf(target: unknown, op: string): PyDict {
    if (!(target instanceof PyDict)) this.fail(`malformed pickle: ${op} on a ${describe(target)}, not a dict`);
    return target;
  }
  private setItem(d: PyDict, k: unknown, v: unknown): void {
    d.entries.set(hashKey(k, (m) => this.fail(m)), v as PickleValue);
  }
  private refuse(op: string, why: string): never {
    this.fail(`${op} ${why}; this reader builds plain data only and never runs code from a pickle`);
  }
  private global(module: string, name: string, op: string): AllowedGlobal {
    const full = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(full)) this.refuse(op, `names ${full}, which is not on the allow-list (${[...ALLOWED_GLOBALS].join(', ')})`);
    return new AllowedGlobal(full);
  }
  private call(fn: unknown, args: unknown, op: string): unknown {
    if (!(fn instanceof AllowedGlobal)) this.refuse(op, `calls a ${describe(fn)}`);
    if (!Array.isArray(args)) this.fail(`malformed pickle: ${op} arguments are a ${describe(args)}, not a tuple`);
    const name = fn.name.replace(/^__builtin__\./, 'builtins.');
    const iterable = (a: unknown): unknown[] => {
      if (a === undefined) return [];
      if (Array.isArray(a)) return a;
      if (a instanceof Set) return [...a];
      if (typeof a === 'string') return [...a];
      if (a instanceof Uint8Array) return [...a];
      if (a instanceof PyDict) return [...a.entries.keys()];
      this.fail(`${op} ${fn.name}: cannot iterate a ${describe(a)}`);
    };
    switch (name) {
      case 'collections.OrderedDict': case 'builtins.dict': {
        const d = new PyDict();
        if (args[0] instanceof PyDict) for (const [k, v] of args[0].entries) d.entries.set(k, v);
        else for (const kv of iterable(args[0])) {
          if (!Array.isArray(kv) || kv.length !== 2) this.fail(`${op} ${fn.name}: an item is not a (key, value) pair`);
          this.setItem(d, kv[0], kv[1]);
        }
        return d;
      }
      case 'builtins.set': case 'builtins.frozenset': return new Set(iterable(args[0]).map((k) => hashKey(k, (m) => this.fail(m))));
      case 'builtins.list': case 'builtins.tuple': return [...iterable(args[0])];
      case 'builtins.bytes': case 'builtins.bytearray': {
        if (args.length === 0) return new Uint8Array(0);
        if (typeof args[0] === 'string') {
          if (args[1] !== 'latin1' && args[1] !== 'latin-1') this.fail(`${op} ${fn.name}: only latin-1 text can be turned into bytes here, not ${JSON.stringify(args[1])}`);
          return latin1Bytes(args[0], (m) => this.fail(m));
        }
        const items = iterable(args[0]);
        if (!items.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 256)) this.fail(`${op} ${fn.name}: the items are not bytes 0..255`);
        return Uint8Array.from(items as number[]);
      }
      case '_codecs.encode': {
        // Python 3 writes bytes at protocol <= 2 as _codecs.encode(text, 'latin1').
        if (typeof args[0] !== 'string' || (args[1] !== 'latin1' && args[1] !== 'latin-1')) {
          this.fail(`${op} _codecs.encode: only (text, 'latin1') is accepted, got ${describe(args[0])}, ${JSON.stringify(args[1])}`);
        }
        return latin1Bytes(args[0], (m) => this.fail(m));
      }
      default: this.refuse(op, `calls ${fn.name}`);
    }
  }

  run(): PickleValue {
    const b = this.b;
    for (;;) {
      this.opStart = this.pos;
      if (this.pos >= b.length) this.fail(`truncated pickle: the data ends before the STOP opcode (${b.length} bytes)`);
      const op = b[this.pos++];
      const name = OPCODE_NAMES[op];
      switch (op) {
        case 0x80: { const v = this.u8(); if (v > 5) this.fail(`pickle protocol ${v} is newer than 5, the highest this reader knows`); break; }
        case 0x95: this.uint(8, 'FRAME'); break; // framing is only a read-ahead hint
        case 0x2e: { // STOP
          if (this.stack.length !== 1 || this.marks.length) this.fail(`malformed pickle: STOP with ${this.stack.length} values on the stack`);
          return finish(this.stack[0]);
        }
        case 0x28: this.marks.push(this.stack.length); break;
        case 0x30: if (this.marks.length && this.stack.length === this.marks[this.marks.length - 1]) this.marks.pop(); else this.pop(); break;
        case 0x31: this.popMark(); break;
        case 0x32: this.stack.push(this.top()); break;
        case 0x4e: this.stack.push(null); break;
        case 0x88: this.stack.push(true); break;
        case 0x89: this.stack.push(false); break;
        case 0x49: { // INT: decimal text; "01" / "00" are protocol 0's True / False
          const s = this.line('INT').trim();
          if (s === '01') this.stack.push(true); else if (s === '00') this.stack.push(false);
          else { if (!/^[-+]?\d+$/.test(s)) this.fail(`malformed INT ${JSON.stringify(s)}`); this.stack.push(this.int(BigInt(s))); }
          break;
        }
        case 0x4c: { const s = this.line('LONG').trim().replace(/L$/, ''); if (!/^[-+]?\d+$/.test(s)) this.fail(`malformed LONG ${JSON.stringify(s)}`); this.stack.push(this.int(BigInt(s))); break; }
        case 0x4a: { this.need(4, 'BININT'); const v = new DataView(b.buffer, b.byteOffset + this.pos, 4).getInt32(0, true); this.pos += 4; this.stack.push(v); break; }
        case 0x4b: this.stack.push(this.u8()); break;
        case 0x4d: this.stack.push(this.uint(2, 'BININT2')); break;
        case 0x8a: case 0x8b: { // LONG1 / LONG4: little-endian two's complement
          const n = op === 0x8a ? this.u8() : this.uint(4, 'LONG4');
          const bytes = this.take(n, name);
          let v = 0n;
          for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
          if (n > 0 && bytes[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
          this.stack.push(this.int(v));
          break;
        }
        case 0x46: { const s = this.line('FLOAT').trim(); const v = Number(s); if (s === '' || (Number.isNaN(v) && !/^[-+]?nan$/i.test(s))) this.fail(`malformed FLOAT ${JSON.stringify(s)}`); this.stack.push(v); break; }
        case 0x47: { this.need(8, 'BINFLOAT'); this.stack.push(new DataView(b.buffer, b.byteOffset + this.pos, 8).getFloat64(0, false)); this.pos += 8; break; }
        case 0x53: this.stack.push(this.py2Str(parsePy2Literal(this.line('STRING'), (m) => this.fail(m)))); break;
        case 0x54: this.stack.push(this.py2Str(this.take(this.int32Len('BINSTRING'), 'BINSTRING'))); break;
        case 0x55: this.stack.push(this.py2Str(this.take(this.u8(), 'SHORT_BINSTRING'))); break;
        case 0x56: this.stack.push(rawUnicodeEscape(this.line('UNICODE'), (m) => this.fail(m))); break;
        case 0x58: this.stack.push(this.text(this.take(this.uint(4, 'BINUNICODE'), 'BINUNICODE'), 'BINUNICODE')); break;
        case 0x8c: this.stack.push(this.text(this.take(this.u8(), 'SHORT_BINUNICODE'), 'SHORT_BINUNICODE')); break;
        case 0x8d: this.stack.push(this.text(this.take(this.uint(8, 'BINUNICODE8'), 'BINUNICODE8'), 'BINUNICODE8')); break;
        case 0x42: this.stack.push(this.take(this.uint(4, 'BINBYTES'), 'BINBYTES').slice()); break;
        case 0x43: this.stack.push(this.take(this.u8(), 'SHORT_BINBYTES').slice()); break;
        case 0x8e: this.stack.push(this.take(this.uint(8, 'BINBYTES8'), 'BINBYTES8').slice()); break;
        case 0x96: this.stack.push(this.take(this.uint(8, 'BYTEARRAY8'), 'BYTEARRAY8').slice()); break;
        case 0x29: this.stack.push([]); break;
        case 0x85: this.stack.push([this.pop()]); break;
        case 0x86: { const y = this.pop(), x = this.pop(); this.stack.push([x, y]); break; }
        case 0x87: { const z = this.pop(), y = this.pop(), x = this.pop(); this.stack.push([x, y, z]); break; }
        case 0x74: this.stack.push(this.popMark()); break;
        case 0x5d: this.stack.push([]); break;
        case 0x6c: this.stack.push(this.popMark()); break;
        case 0x61: { const v = this.pop(); const l = this.top(); if (!Array.isArray(l)) this.fail(`malformed pickle: APPEND to a ${describe(l)}`); l.push(v); break; }
        case 0x65: { const items = this.popMark(); const l = this.top(); if (!Array.isArray(l)) this.fail(`malformed pickle: APPENDS to a ${describe(l)}`); for (const v of items) l.push(v); break; }
        case 0x7d: this.stack.push(new PyDict()); break;
        case 0x64: { const items = this.popMark(); if (items.length % 2) this.fail('malformed pickle: DICT with an odd number of items'); const d = new PyDict(); for (let i = 0; i < items.length; i += 2) this.setItem(d, items[i], items[i + 1]); this.stack.push(d); break; }
        case 0x73: { const v = this.pop(), k = this.pop(); this.setItem(this.dictOf(this.top(), 'SETITEM'), k, v); break; }
        case 0x75: { const items = this.popMark(); if (items.length % 2) this.fail('malformed pickle: SETITEMS with an odd number of items'); const d = this.dictOf(this.top(), 'SETITEMS'); for (let i = 0; i < items.length; i += 2) this.setItem(d, items[i], items[i + 1]); break; }
        case 0x8f: this.stack.push(new Set()); break;
        case 0x90: { const items = this.popMark(); const s = this.top(); if (!(s instanceof Set)) this.fail(`malformed pickle: ADDITEMS to a ${describe(s)}`); for (const v of items) s.add(hashKey(v, (m) => this.fail(m))); break; }
        case 0x91: this.stack.push(new Set(this.popMark().map((v) => hashKey(v, (m) => this.fail(m))))); break;
        case 0x70: { const s = this.line('PUT'); if (!/^\d+$/.test(s)) this.fail(`malformed PUT ${JSON.stringify(s)}`); this.memo.set(Number(s), this.top()); break; }
        case 0x71: this.memo.set(this.u8(), this.top()); break;
        case 0x72: this.memo.set(this.uint(4, 'LONG_BINPUT'), this.top()); break;
        case 0x94: this.memo.set(this.memo.size, this.top()); break;
        case 0x67: { const s = this.line('GET'); if (!/^\d+$/.test(s)) this.fail(`malformed GET ${JSON.stringify(s)}`); this.stack.push(this.getMemo(Number(s))); break; }
        case 0x68: this.stack.push(this.getMemo(this.u8())); break;
        case 0x6a: this.stack.push(this.getMemo(this.uint(4, 'LONG_BINGET'))); break;
        case 0x63: { const module = this.line('GLOBAL module'); const nm = this.line('GLOBAL name'); this.stack.push(this.global(module, nm, 'GLOBAL')); break; }
        case 0x93: {
          const nm = this.pop(), module = this.pop();
          if (typeof module !== 'string' || typeof nm !== 'string') this.fail('malformed pickle: STACK_GLOBAL needs two strings');
          this.stack.push(this.global(module, nm, 'STACK_GLOBAL'));
          break;
        }
        case 0x52: { const args = this.pop(); const fn = this.pop(); this.stack.push(this.call(fn, args, 'REDUCE')); break; }
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args); only the allow-listed data types, built empty
          const args = this.pop(); const cls = this.pop();
          if (!(cls instanceof AllowedGlobal)) this.refuse('NEWOBJ', `creates a ${describe(cls)}`);
          this.stack.push(this.call(cls, Array.isArray(args) && args.length === 0 ? [] : args, 'NEWOBJ'));
          break;
        }
        case 0x62: { // BUILD: only an OrderedDict's (empty) state, which Python 2 wrote as None or {}
          const state = this.pop(); const obj = this.top();
          const empty = state === null || (state instanceof PyDict && state.entries.size === 0);
          if (!empty) this.refuse('BUILD', `sets the state of a ${describe(obj)}`);
          break;
        }
        case 0x92: this.refuse('NEWOBJ_EX', 'creates an object'); break;
        case 0x69: this.refuse('INST', `creates an instance of ${this.line('INST module')}.${this.line('INST name')}`); break;
        case 0x6f: this.refuse('OBJ', 'creates an object'); break;
        case 0x50: case 0x51: this.refuse(name, 'asks for a persistent object'); break;
        case 0x82: case 0x83: case 0x84: this.refuse(name, 'names an extension-registry object'); break;
        case 0x97: case 0x98: this.refuse(name, 'uses an out-of-band buffer'); break;
        default: this.fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''}; not a pickle, or a damaged one`);
      }
    }
  }

  private int32Len(what: string): number {
    this.need(4, what);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 4).getInt32(0, true);
    this.pos += 4;
    if (v < 0) this.fail(`${what} with a negative length ${v}`);
    return v;
  }
}

function describe(v: unknown): string {
  if (v instanceof AllowedGlobal) return `global ${v.name}`;
  if (v instanceof PyDict) return 'dict';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list/tuple';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Set) return 'set';
  return typeof v;
}

/**
 * Dict keys and set members must be hashable in Python: strings, numbers, bools, None, bytes, tuples of
 * those. JS Maps compare objects by identity, so tuples and bytes become a canonical string key kind;
 * strings and numbers stay as they are.
 */
function hashKey(k: unknown, fail: (m: string) => never): unknown {
  if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean' || typeof k === 'bigint') return k;
  if (k instanceof PyDict || k instanceof Set) fail(`malformed pickle: a ${describe(k)} used as a key (unhashable)`);
  if (Array.isArray(k) || k instanceof Uint8Array) return k; // kept by identity; finish() turns the dict into a Map
  fail(`malformed pickle: unhashable ${describe(k)} used as a key`);
}

/** Turns PyDicts (recursively, once per shared object) into plain objects or Maps. */
function finish(root: unknown): PickleValue {
  const done = new Map<unknown, PickleValue>();
  const conv = (v: unknown): PickleValue => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v as PickleValue;
    if (done.has(v)) return done.get(v)!;
    if (v instanceof AllowedGlobal) return `<global ${v.name}>`;
    if (Array.isArray(v)) { const out: PickleValue[] = []; done.set(v, out); for (const x of v) out.push(conv(x)); return out; }
    if (v instanceof Set) { const out = new Set<PickleValue>(); done.set(v, out); for (const x of v) out.add(conv(x)); return out; }
    if (v instanceof PyDict) {
      if ([...v.entries.keys()].every((k) => typeof k === 'string')) {
        const out: { [key: string]: PickleValue } = {};
        done.set(v, out);
        // defineProperty so a key named "__proto__" is an ordinary property, never the prototype.
        for (const [k, x] of v.entries) Object.defineProperty(out, k as string, { value: conv(x), enumerable: true, writable: true, configurable: true });
        return out;
      }
      const out = new Map<PickleValue, PickleValue>();
      done.set(v, out);
      for (const [k, x] of v.entries) out.set(conv(k), conv(x));
      return out;
    }
    return v as PickleValue;
  };
  return conv(root);
}

function latin1Bytes(s: string, fail: (m: string) => never): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) fail('malformed pickle: latin-1 bytes text holds a character above U+00FF');
    out[i] = c;
  }
  return out;
}

/** Protocol 0's STRING argument: a Python 2 string literal in quotes ('...' or "..."), with escapes. */
function parsePy2Literal(line: string, fail: (m: string) => never): Uint8Array {
  const q = line[0];
  if ((q !== "'" && q !== '"') || line.length < 2 || line[line.length - 1] !== q) fail(`malformed STRING ${JSON.stringify(line.slice(0, 40))}: not a quoted literal`);
  const s = line.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x5c) { out.push(c & 0xff); continue; }
    const e = s[++i];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };
    if (e in simple) out.push(simple[e]);
    else if (e === 'x') { const h = s.slice(i + 1, i + 3); if (!/^[0-9a-fA-F]{2}$/.test(h)) fail(`malformed STRING: bad \\x escape`); out.push(parseInt(h, 16)); i += 2; }
    else if (e !== undefined && /[0-7]/.test(e)) { let j = i; while (j < s.length && j < i + 3 && /[0-7]/.test(s[j])) j++; out.push(parseInt(s.slice(i, j), 8) & 0xff); i = j - 1; }
    else if (e === '\n') { /* line continuation */ }
    else { out.push(92); if (e !== undefined) out.push(e.charCodeAt(0) & 0xff); }
  }
  return Uint8Array.from(out);
}

/** Protocol 0's UNICODE argument: raw-unicode-escape (\uXXXX, \UXXXXXXXX, everything else latin-1). */
function rawUnicodeEscape(line: string, fail: (m: string) => never): string {
  return line.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    if (cp > 0x10ffff) fail(`malformed UNICODE: code point ${cp.toString(16)} is out of range`);
    return String.fromCodePoint(cp);
  });
}
