// PyTorch checkpoints (.bin / .pth / .pt) in the zip format torch.save has written since 1.6:
//   <archive>/data.pkl      the pickled object (a state dict, maybe nested in other dicts)
//   <archive>/data/<key>    one entry per storage, raw little-endian elements, stored uncompressed
//   <archive>/version, <archive>/byteorder (newer torch)
// Tensors in data.pkl are torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...) where
// storage is a persistent id ('storage', torch.<T>Storage, key, location, numel). Only these globals are
// honoured; the unpickler refuses everything else (see pickle.ts).
import { CheckpointFormatError, shapeNumel, sourceItemSize, type SourceDType, type TensorInfo } from './dtypes.js';
import type { ByteSource } from './source.js';
import { PyGlobal, PyTuple, unpickle } from './pickle.js';
import { readZipDirectory, type ZipEntry } from './zip.js';
import { SourceReader, openFileWith, type CheckpointReader } from './reader.js';

const STORAGE_DTYPES: Record<string, SourceDType> = {
  FloatStorage: 'F32', DoubleStorage: 'F64', HalfStorage: 'F16', BFloat16Storage: 'BF16',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8',
  ByteStorage: 'U8', BoolStorage: 'BOOL', UntypedStorage: 'U8',
};
const TORCH_DTYPES: Record<string, SourceDType> = {
  float32: 'F32', float: 'F32', float64: 'F64', double: 'F64', float16: 'F16', half: 'F16', bfloat16: 'BF16',
  int64: 'I64', long: 'I64', int32: 'I32', int: 'I32', int16: 'I16', short: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

interface Storage { key: string; dtype: SourceDType; numel: number; entry: ZipEntry }

/** What _rebuild_tensor_v2 yields here: a strided view of a storage, not yet read. */
export class TorchTensorRef {
  constructor(readonly storage: Storage, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}

function intTuple(v: unknown, what: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
  if (!items || !items.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw new CheckpointFormatError(`${what} must be a tuple of non-negative integers`);
  }
  return items as number[];
}

function rebuildTensor(args: unknown[]): TorchTensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage && typeof storage === 'object' && 'entry' in storage)) throw new CheckpointFormatError('_rebuild_tensor_v2: first argument is not a storage');
  const st = storage as Storage;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new CheckpointFormatError('_rebuild_tensor_v2: bad storage offset');
  const shape = intTuple(size, 'tensor size'), strides = intTuple(stride, 'tensor stride');
  if (shape.length !== strides.length) throw new CheckpointFormatError(`tensor size ${JSON.stringify(shape)} and stride ${JSON.stringify(strides)} differ in rank`);
  const numel = shapeNumel(shape, 'tensor');
  if (numel > 0) {
    let last = offset;
    for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * strides[i];
    if (!Number.isSafeInteger(last) || last >= st.numel) {
      throw new CheckpointFormatError(`tensor of size ${JSON.stringify(shape)}, stride ${JSON.stringify(strides)}, offset ${offset} reaches element ${last} of a storage of ${st.numel}`);
    }
    // A view with more elements than its storage repeats elements (stride 0): refuse rather than inflate.
    if (numel > st.numel) throw new CheckpointFormatError(`tensor of ${numel} elements views a storage of ${st.numel} (broadcast views are not supported)`);
  }
  return new TorchTensorRef(st, offset, shape, strides);
}

/** The allow-list. Everything a state dict needs, nothing that can run code. */
function makeResolver(): (module: string, name: string) => PyGlobal | undefined {
  return (module, name) => {
    const g = (call?: (args: unknown[]) => unknown) => new PyGlobal(module, name, call);
    if (module === 'collections' && name === 'OrderedDict') {
      return g((args) => {
        const m = new Map();
        if (args.length > 1) throw new Error('expects at most one argument');
        const init = args[0];
        if (init !== undefined && init !== null) {
          const items = init instanceof PyTuple ? init.items : Array.isArray(init) ? init : null;
          if (!items) throw new Error('expects a sequence of pairs');
          for (const p of items) {
            const kv = p instanceof PyTuple ? p.items : Array.isArray(p) ? p : null;
            if (!kv || kv.length !== 2) throw new Error('expects a sequence of pairs');
            m.set(kv[0], kv[1]);
          }
        }
        return m;
      });
    }
    if (module === 'torch._utils') {
      if (name === '_rebuild_tensor_v2' || name === '_rebuild_tensor') {
        return g((args) => {
          if (args.length < 4) throw new Error(`expects at least 4 arguments, got ${args.length}`);
          return rebuildTensor(args);
        });
      }
      if (name === '_rebuild_parameter' || name === '_rebuild_parameter_with_state') {
        return g((args) => {
          if (!(args[0] instanceof TorchTensorRef)) throw new Error('first argument is not a tensor');
          return args[0];
        });
      }
    }
    if (module === 'torch._tensor' && name === '_rebuild_from_type_v2') {
      // (func, type, args, state): only for plain tensors/parameters whose func is itself allowed.
      return g((args) => {
        const [fn, type, fargs] = args;
        if (!(fn instanceof PyGlobal) || !fn.call) throw new Error('function is not allow-listed');
        if (!(type instanceof PyGlobal) || !['torch.Tensor', 'torch.nn.parameter.Parameter'].includes(type.qualname)) {
          throw new Error(`tensor type ${type instanceof PyGlobal ? type.qualname : '?'} is not supported`);
        }
        if (!(fargs instanceof PyTuple)) throw new Error('arguments are not a tuple');
        return fn.call(fargs.items);
      });
    }
    if (module === 'torch') {
      if (name in STORAGE_DTYPES) return g();
      if (name in TORCH_DTYPES || name === 'Tensor') return g();
      if (name === 'device') return g((args) => String(args[0] ?? 'cpu'));
      if (name === 'Size') return g((args) => args[0]);
    }
    if (module === 'torch.nn.parameter' && name === 'Parameter') return g();
    if (module === '_codecs' && name === 'encode') {
      // Python 2-compatible pickles write bytes as _codecs.encode(str, 'latin1').
      return g((args) => {
        const [s, enc] = args;
        if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) throw new Error('only latin1 strings are supported');
        return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
      });
    }
    return undefined;
  };
}

export interface TorchEntry extends TensorInfo { ref: TorchTensorRef }

export class TorchReader extends SourceReader<TorchEntry> implements CheckpointReader {
  readonly format = 'pytorch' as const;
  readonly metadata: Record<string, string> = {};

  private constructor(src: ByteSource, tensors: TorchEntry[], owned: boolean) { super(src, tensors, owned); }

  static openFile(path: string): Promise<TorchReader> { return openFileWith(path, TorchReader.open); }

  static async open(src: ByteSource, owned = false): Promise<TorchReader> {
    const where = src.name;
    const head = await src.read(0, Math.min(src.size, 16));
    if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) {
      throw new CheckpointFormatError(`${where}: legacy (pre-1.6, non-zip) PyTorch format is not supported; re-save it with a newer torch.save`);
    }
    const entries = await readZipDirectory(src);
    const pkl = entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name) || e.name === 'data.pkl');
    if (pkl.length !== 1) throw new CheckpointFormatError(`${where}: not a PyTorch checkpoint: expected one <archive>/data.pkl entry, found ${pkl.length}`);
    const prefix = pkl[0].name.slice(0, pkl[0].name.length - 'data.pkl'.length);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const bo = byName.get(`${prefix}byteorder`);
    if (bo) {
      const order = new TextDecoder().decode(await src.read(bo.dataOffset, Math.min(bo.size, 16))).trim();
      if (order !== 'little') throw new CheckpointFormatError(`${where}: byte order "${order}" is not supported (only little-endian)`);
    }
    if (pkl[0].size > 1 << 30) throw new CheckpointFormatError(`${where}: data.pkl of ${pkl[0].size} bytes is absurd`);
    const data = await src.read(pkl[0].dataOffset, pkl[0].size);
    const storages = new Map<string, Storage>();
    const persistentLoad = (pid: unknown): Storage => {
      if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
        throw new CheckpointFormatError(`${where}: unsupported persistent id (expected ('storage', type, key, location, numel))`);
      }
      const [, type, key, , numel] = pid.items;
      if (!(type instanceof PyGlobal) || !(type.name in STORAGE_DTYPES)) throw new CheckpointFormatError(`${where}: persistent id names an unknown storage type`);
      if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
        throw new CheckpointFormatError(`${where}: malformed storage persistent id`);
      }
      const dtype = STORAGE_DTYPES[type.name];
      const prev = storages.get(key);
      if (prev) {
        if (prev.dtype !== dtype) throw new CheckpointFormatError(`${where}: storage ${key} is declared with two dtypes`);
        return prev;
      }
      const entry = byName.get(`${prefix}data/${key}`);
      if (!entry) throw new CheckpointFormatError(`${where}: storage ${key} has no data entry ${prefix}data/${key}`);
      if (numel * sourceItemSize(dtype) > entry.size) {
        throw new CheckpointFormatError(`${where}: storage ${key} declares ${numel} ${dtype} elements but its entry holds ${entry.size} bytes`);
      }
      const st = { key, dtype, numel, entry };
      storages.set(key, st);
      return st;
    };
    const root = unpickle(data, { resolveGlobal: makeResolver(), persistentLoad, where: `${where}: ${pkl[0].name}` });
    const tensors: TorchEntry[] = [];
    const seen = new Set<unknown>();
    const names = new Set<string>();
    const walk = (v: unknown, path: string) => {
      if (v instanceof TorchTensorRef) {
        if (names.has(path)) throw new CheckpointFormatError(`${where}: two tensors are named "${path}"`);
        names.add(path);
        const numel = shapeNumel(v.shape, path);
        tensors.push({ name: path, dtype: v.storage.dtype, shape: v.shape, byteLength: numel * sourceItemSize(v.storage.dtype), ref: v });
        return;
      }
      if (typeof v !== 'object' || v === null || seen.has(v)) return;
      seen.add(v);
      const join = (k: unknown) => (path ? `${path}.${String(k)}` : String(k));
      if (v instanceof Map) for (const [k, x] of v) { if (typeof k === 'string' || typeof k === 'number') walk(x, join(k)); }
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, join(i)));
      else if (v instanceof PyTuple) v.items.forEach((x, i) => walk(x, join(i)));
    };
    walk(root, '');
    return new TorchReader(src, tensors, owned);
  }

  async read(name: string): Promise<Uint8Array> {
    const t = this.entry(name);
    const { storage, offset, shape, stride } = t.ref;
    const size = sourceItemSize(storage.dtype);
    const numel = t.byteLength / size;
    if (numel === 0) return new Uint8Array(0);
    const base = storage.entry.dataOffset;
    // Contiguous (row-major) views are one read; dims of size 1 may carry any stride.
    let expect = 1, contiguous = true;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (shape[i] !== 1 && stride[i] !== expect) { contiguous = false; break; }
      expect *= shape[i];
    }
    if (contiguous) return this.src.read(base + offset * size, t.byteLength);
    // Strided view: read the span it touches, then gather element by element.
    let lo = offset, hi = offset;
    for (let i = 0; i < shape.length; i++) hi += (shape[i] - 1) * stride[i];
    const span = await this.src.read(base + lo * size, (hi - lo + 1) * size);
    const out = new Uint8Array(t.byteLength);
    const idx = new Array<number>(shape.length).fill(0);
    let src = 0;
    for (let n = 0; n < numel; n++) {
      out.set(span.subarray(src * size, src * size + size), n * size);
      for (let d = shape.length - 1; d >= 0; d--) {
        idx[d]++; src += stride[d];
        if (idx[d] < shape[d]) break;
        src -= stride[d] * shape[d]; idx[d] = 0;
      }
    }
    return out;
  }
}
