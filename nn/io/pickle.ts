// A restricted unpickler for what torch.save writes (pickle protocols 2 to 5). It is a security boundary:
// pickle is a program for a stack machine whose GLOBAL + REDUCE opcodes can call any Python function.
// Here no code runs at all: GLOBAL resolves only names on an allow-list (anything else is refused with an
// error naming it) to our own small JavaScript stand-ins, and every length is checked against the bytes
// that remain before anything is allocated.
import { CheckpointFormatError } from './dtypes.js';

/** A Python tuple (kept apart from lists so that calls can check their argument shapes). */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A global the allow-list resolved: `call` is our stand-in for calling it (REDUCE / NEWOBJ). */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string, readonly call?: (args: unknown[]) => unknown) {}
  get qualname(): string { return `${this.module}.${this.name}`; }
}

export type GlobalResolver = (module: string, name: string) => PyGlobal | undefined;

export interface UnpickleOptions {
  /** Resolves allow-listed globals; anything it returns undefined for is refused. */
  resolveGlobal: GlobalResolver;
  /** Handles BINPERSID (torch's storages). Without it persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Name used in error messages. */
  where?: string;
  /** Caps on the machine's resources; a hostile pickle cannot make it grow further. */
  maxStack?: number;
  maxMemo?: number;
}

/** Pickle opcodes by byte, as CPython's pickletools names them (error messages). */
export const PICKLE_OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const MARK = Symbol('mark');

/** Runs the pickle program in `data` and returns the value it leaves (Map for dicts, arrays for lists, PyTuple). */
export function unpickle(data: Uint8Array, opts: UnpickleOptions): unknown {
  const where = opts.where ?? 'pickle';
  const maxStack = opts.maxStack ?? 1 << 22, maxMemo = opts.maxMemo ?? 1 << 22;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8', { ignoreBOM: true }); // a pickled string may start with U+FEFF
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string, at = pos): never => { throw new CheckpointFormatError(`${where}: ${msg} (pickle offset ${at})`); };
  const need = (n: number) => { if (n < 0 || pos + n > data.length) fail(`truncated: needs ${n} more bytes but only ${data.length - pos} remain`); };
  const u8 = () => { need(1); return data[pos++]; };
  const u16 = () => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = () => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = () => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u64 = () => {
    need(8); const v = view.getBigUint64(pos, true); pos += 8;
    if (v > BigInt(data.length)) fail(`declared length ${v} exceeds the pickle's size`);
    return Number(v);
  };
  const bytes = (n: number) => { need(n); const b = data.subarray(pos, pos + n); pos += n; return b; };
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 4096) fail('unterminated or overlong text line');
    const s = latin1.decode(data.subarray(pos, end)); pos = end + 1; return s;
  };
  const push = (v: unknown) => { if (stack.length >= maxStack) fail(`stack exceeds ${maxStack} items`); stack.push(v); };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack.pop();
    if (v === MARK) fail('unexpected MARK on the stack');
    return v;
  };
  const top = (): unknown => { if (stack.length === 0 || stack[stack.length - 1] === MARK) fail('stack underflow'); return stack[stack.length - 1]; };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) fail('no MARK to pop to');
    stack = prev!;
    return items;
  };
  const memoPut = (i: number, v: unknown) => {
    if (!memo.has(i) && memo.size >= maxMemo) fail(`memo exceeds ${maxMemo} items`);
    memo.set(i, v);
  };
  const memoGet = (i: number) => { if (!memo.has(i)) fail(`memo key ${i} was never stored`); return memo.get(i); };
  const resolve = (module: string, name: string) => {
    const g = opts.resolveGlobal(module, name);
    if (!g) fail(`refusing global ${module}.${name}: not on the allow-list of what a checkpoint may reference`);
    return g!;
  };
  const call = (fn: unknown, args: unknown) => {
    if (!(fn instanceof PyGlobal)) fail(`REDUCE on a value that is not an allow-listed callable`);
    const g = fn as PyGlobal;
    if (!g.call) fail(`refusing to call ${g.qualname}: it is allowed only as a value`);
    if (!(args instanceof PyTuple)) fail(`arguments to ${g.qualname} are not a tuple`);
    try { return g.call!((args as PyTuple).items); } catch (e) {
      if (e instanceof CheckpointFormatError) throw e;
      return fail(`${g.qualname}: ${(e as Error).message}`);
    }
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof Map)) fail('SETITEM(S) on a value that is not a dict');
    if (items.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (d as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: { const p = u8(); if (p > 5) fail(`unsupported pickle protocol ${p}`, at); break; } // PROTO
      case 0x95: u64(); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        if (marks.length) fail('STOP with an open MARK', at);
        return pop();
      }
      case 0x28: marks.push(stack); stack = []; if (marks.length > maxStack) fail('too many MARKs', at); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break;
      case 0x88: push(true); break;
      case 0x89: push(false); break;
      case 0x4a: push(i32()); break;
      case 0x4b: push(u8()); break;
      case 0x4d: push(u16()); break;
      case 0x8a: push(long(bytes(u8()))); break; // LONG1
      case 0x8b: { const n = u32(); if (n > 64) fail(`LONG4 of ${n} bytes is absurd`, at); push(long(bytes(n))); break; }
      case 0x47: { need(8); push(view.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
      case 0x58: push(utf8.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: push(utf8.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: push(utf8.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x54: { const n = i32(); if (n < 0) fail('negative BINSTRING length', at); push(latin1.decode(bytes(n))); break; }
      case 0x55: push(latin1.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x64: { const items = popMark(); const d = new Map(); setItems(d, items); push(d); break; } // DICT
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x6c: push(popMark()); break; // LIST
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) fail('APPEND to a non-list', at); (l as unknown[]).push(v); break; }
      case 0x65: { // APPENDS
        const items = popMark(); const l = top();
        if (!Array.isArray(l)) fail('APPENDS to a non-list', at);
        for (const it of items) (l as unknown[]).push(it);
        break;
      }
      case 0x8f: push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) fail('ADDITEMS to a non-set', at); for (const it of items) (s as Set<unknown>).add(it); break; }
      case 0x91: push(new Set(popMark())); break; // FROZENSET
      case 0x29: push(new PyTuple([])); break;
      case 0x74: push(new PyTuple(popMark())); break;
      case 0x85: { const a = pop(); push(new PyTuple([a])); break; }
      case 0x86: { const b = pop(), a = pop(); push(new PyTuple([a, b])); break; }
      case 0x87: { const c = pop(), b = pop(), a = pop(); push(new PyTuple([a, b, c])); break; }
      case 0x71: memoPut(u8(), top()); break; // BINPUT
      case 0x72: memoPut(u32(), top()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size, top()); break; // MEMOIZE
      case 0x68: push(memoGet(u8())); break; // BINGET
      case 0x6a: push(memoGet(u32())); break; // LONG_BINGET
      case 0x70: { const s = line(); const i = Number(s); if (!Number.isSafeInteger(i) || i < 0) fail('bad PUT index', at); memoPut(i, top()); break; }
      case 0x67: { const s = line(); const i = Number(s); if (!Number.isSafeInteger(i) || i < 0) fail('bad GET index', at); push(memoGet(i)); break; }
      case 0x63: { const module = line(); const name = line(); push(resolve(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings', at);
        push(resolve(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(), fn = pop(); push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(), cls = pop(); push(call(cls, args)); break; } // NEWOBJ: only allow-listed classes
      case 0x62: { // BUILD: setting state is allowed only where it changes nothing we keep
        const state = pop(); const obj = top();
        const empty = state === null || (state instanceof Map && state.size === 0) ||
          (state instanceof PyTuple && state.items.every((s) => s === null || (s instanceof Map && s.size === 0)));
        if (!(obj instanceof Map) && !empty) fail('BUILD with object state is not supported for this value', at);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent id without a persistent_load handler', at);
        push(opts.persistentLoad!(pid));
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}${PICKLE_OPCODE_NAMES[op] ? ` (${PICKLE_OPCODE_NAMES[op]})` : ''}: outside the subset torch.save writes`, at);
    }
  }
}
