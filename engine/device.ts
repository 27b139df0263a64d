// The WebGPU device: adapter choice, features and limits, error surfacing, the buffer pool, and the
// deferred dispatch scheduler. Ops encode into one open command encoder; it is submitted at readback,
// at flush(), or every `dispatchesPerSubmit` dispatches. Per-dispatch parameters are appended to one
// arena buffer written just before the submit, so nothing is mapped inside a step.
// The declarations use WebGPU's global types (GPUBuffer, GPUDevice, ...): a package consumer gets them from here.
/// <reference types="@webgpu/types" preserve="true" />
import { create, globals } from 'webgpu';
import { BufferPool, type MemoryStats } from './pool.js';
import {
  NoAdapterError, DeviceLostError, DeviceValidationError, DeviceOutOfMemoryError, ShaderCompilationError,
} from './errors.js';
import type { KernelSource } from '../kernels/kernel.js';
import { selectToggles, toggleFlags, sameToggles, type ToggleChoice } from './device-toggles.js';

export interface DeviceOptions {
  /** Dawn backend: 'vulkan', 'metal', 'd3d12', 'd3d11', 'opengl', 'opengles', 'null'. */
  backend?: string;
  /** Dawn adapter name (exact), e.g. 'NVIDIA H100 80GB HBM3' or 'llvmpipe (LLVM 19.1.7, 256 bits)'. */
  adapterName?: string;
  /**
   * Dawn toggles to enable / disable, applied after the automatic ones (engine/device-toggles.ts:
   * allow_unsafe_apis always, vulkan_enable_f16_on_nvidia on NVIDIA), which they override.
   */
  enableToggles?: string[];
  disableToggles?: string[];
  /**
   * Speed toggles skip_validation, disable_robustness, disable_workgroup_init (env WEBGPU_ENGINE_FAST=1).
   * Off by default: an out-of-bounds kernel then yields garbage instead of an error, and the gain is unmeasured.
   */
  fast?: boolean;
  /** The caller times with timestamp queries: timestamp_quantization is disabled (env WEBGPU_ENGINE_TIMING=1). */
  timing?: boolean;
  powerPreference?: GPUPowerPreference;
  /** Submit the open command encoder after this many dispatches (default 256). */
  dispatchesPerSubmit?: number;
  /** Whether the device becomes the default device when none is open (default true; false for side devices). */
  makeDefault?: boolean;
  /**
   * Caps the largest buffer one kernel may bind, below the adapter's own limit (env WEBGPU_ENGINE_MAX_BINDING,
   * bytes, with an optional K/M/G suffix). Tests use it to exercise, on any machine, the placement that NVIDIA's
   * 2 GiB - 4 storage-binding limit forces on large weights, optimizer state and activations.
   */
  maxBindingBytes?: number;
}

/** Features we request when the adapter has them. */
const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix',
  'subgroup-size-control'];

export interface SubgroupMatrixConfig {
  componentType: string; resultComponentType: string; M: number; N: number; K: number;
}

export interface DeviceDescription {
  vendor: string; architecture: string; device: string; description: string; driver: string;
  backend: string; adapterType: string; features: string[];
  subgroupMinSize?: number; subgroupMaxSize?: number;
  subgroupMatrixConfigs: SubgroupMatrixConfig[];
  limits: Record<string, number>;
  /** Dawn toggles the device was opened with, and why. */
  toggles: ToggleChoice;
}

const KEY_LIMITS = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage', 'minStorageBufferOffsetAlignment'];

const PARAM_ALIGN = 256;
const ARENA_BYTES = 1 << 18;
const STAGING_FLUSH_BYTES = 256 << 20;
/** Largest staging buffer of one upload or readback; larger transfers go in chunks. */
export const STAGING_CHUNK_BYTES = 64 << 20;

/** Parses a byte count with an optional K/M/G suffix (powers of 1024): '65536', '64K', '2G'. */
export function parseBytes(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(text);
  if (!m) throw new RangeError(`${what}: "${text}" is not a byte count (e.g. 65536, 64K, 256M, 2G)`);
  const n = Math.floor(Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase()));
  if (!(n >= 4)) throw new RangeError(`${what}: "${text}" is below 4 bytes`);
  return n;
}

/** The largest bindable buffer: the adapter's limits, capped by the option, rounded down to a multiple of 4. */
export function bindableBytes(limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }, cap?: number): number {
  if (cap !== undefined && !(Number.isFinite(cap) && cap >= 4)) throw new RangeError(`maxBindingBytes must be at least 4 bytes, got ${cap}`);
  const max = Math.min(Number(limits.maxBufferSize), Number(limits.maxStorageBufferBindingSize), cap ?? Infinity);
  return Math.floor(max / 4) * 4;
}

interface Pipeline { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }

export interface Binding { buffer: GPUBuffer; offset?: number; size?: number }

export class Device {
  readonly pool: BufferPool;
  readonly features: ReadonlySet<string>;
  readonly limits: GPUSupportedLimits;
  readonly dispatchesPerSubmit: number;
  /**
   * The largest buffer a kernel can bind: min(maxBufferSize, maxStorageBufferBindingSize, the maxBindingBytes
   * option), a multiple of 4. Every tensor, optimizer bucket and packed operand must fit it.
   */
  readonly maxBindingBytes: number;
  /** Largest staging buffer of one upload or readback (STAGING_CHUNK_BYTES; tests make it small). */
  stagingChunkBytes = STAGING_CHUNK_BYTES;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly arena: GPUBuffer;
  private readonly arenaHost = new Uint32Array(ARENA_BYTES / 4);
  private arenaUsed = 0;
  private readonly afterSubmit: GPUBuffer[] = [];
  private stagingBytes = 0;
  /** Pipeline-creation checks still in flight; readback waits for them so a bad kernel never yields data. */
  private readonly pendingChecks = new Set<Promise<void>>();
  private error: Error | null = null;
  private lostError: DeviceLostError | null = null;
  private destroyed = false;
  /** Dispatches encoded since the device opened (for tests and profiles). */
  dispatchCount = 0;
  submitCount = 0;
  /** Distinct compute pipelines created, and the wall time spent creating them (start-up cost). */
  private pipelinesCreated = 0;
  private pipelineMs = 0;

  constructor(
    readonly gpu: GPUDevice,
    readonly adapter: GPUAdapter,
    private readonly gpuRoot: GPU | null,
    readonly options: DeviceOptions,
    /** The Dawn toggles in force (engine/device-toggles.ts). */
    readonly toggles: ToggleChoice = selectToggles(null, options),
  ) {
    this.features = new Set([...gpu.features].map(String));
    this.limits = gpu.limits;
    this.dispatchesPerSubmit = options.dispatchesPerSubmit ?? 256;
    this.maxBindingBytes = bindableBytes(gpu.limits, options.maxBindingBytes);
    this.pool = new BufferPool(gpu, this.maxBindingBytes);
    this.arena = gpu.createBuffer({ size: ARENA_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    gpu.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      // Errors that only repeat an earlier failure (an invalid pipeline used later) hide the cause,
      // which reaches us through the error scope of the pipeline's creation.
      if (/invalid due to a previous error/.test(e.message)) return;
      const err = e instanceof GPUOutOfMemoryError || e.constructor?.name === 'GPUOutOfMemoryError'
        ? new DeviceOutOfMemoryError(e.message) : new DeviceValidationError(e.message);
      this.error ??= err;
    });
    gpu.lost.then((info) => {
      if (!this.destroyed) this.lostError = new DeviceLostError(info.reason ?? 'unknown', info.message);
    });
  }

  has(feature: string): boolean { return this.features.has(feature); }

  /**
   * A CPU implementation of WebGPU (llvmpipe / lavapipe, SwiftShader, WARP): kernels are chosen
   * differently there, and its memory is the host's. The one place that decides it.
   */
  get isSoftwareAdapter(): boolean {
    if (this.software === undefined) {
      const info = this.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
      const name = `${info.description} ${info.device} ${info.architecture}`.toLowerCase();
      this.software = info.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software|warp|\bcpu\b/.test(name);
    }
    return this.software;
  }
  private software: boolean | undefined;

  /** Throws the first uncaptured GPU error or the loss of the device, if any happened. */
  checkErrors(): void {
    if (this.lostError) throw this.lostError;
    if (this.destroyed) throw new DeviceLostError('destroyed', 'the device was closed');
    if (this.error) { const e = this.error; this.error = null; throw e; }
  }

  // ---- pipelines ----

  pipeline(kernel: KernelSource): Pipeline {
    let p = this.pipelines.get(kernel.code);
    if (p) return p;
    const t0 = performance.now();
    this.gpu.pushErrorScope('validation');
    const module = this.gpu.createShaderModule({ code: kernel.code, label: kernel.label });
    const pipeline = this.gpu.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: kernel.label });
    // Validation errors of shader creation are reported asynchronously; we surface them at the next
    // sync point through the error scope below, with the compiler's messages attached.
    const check = this.gpu.popErrorScope().then(async (err) => {
      if (!err) return;
      if (process.env.WEBGPU_ENGINE_DEBUG) console.error(kernel.label, err.message);
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `  ${m.type} ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
      this.error ??= new ShaderCompilationError(kernel.label, msgs || err.message);
    }).finally(() => { this.pendingChecks.delete(check); });
    this.pendingChecks.add(check);
    p = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    this.pipelines.set(kernel.code, p);
    this.pipelinesCreated++;
    this.pipelineMs += performance.now() - t0;
    return p;
  }

  /** Work counters since the device opened: dispatches, submits, pipelines created and their creation time. */
  stats(): { dispatches: number; submits: number; pipelines: number; pipelineMs: number } {
    return { dispatches: this.dispatchCount, submits: this.submitCount, pipelines: this.pipelinesCreated, pipelineMs: this.pipelineMs };
  }

  // ---- encoding ----

  private openEncoder(): GPUCommandEncoder {
    if (this.lostError || this.destroyed) this.checkErrors();
    this.encoder ??= this.gpu.createCommandEncoder();
    return this.encoder;
  }

  private openPass(): GPUComputePassEncoder {
    const enc = this.openEncoder();
    this.pass ??= enc.beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) { this.pass.end(); this.pass = null; }
  }

  /**
   * Encodes one dispatch. `params` go to binding 0; `buffers` to bindings 1..n in order.
   * `workgroups` is the launch grid (use kernels/kernel.ts grid() for large counts).
   */
  dispatch(kernel: KernelSource, params: Uint32Array, buffers: Binding[], workgroups: [number, number, number]): void {
    const { pipeline, layout } = this.pipeline(kernel);
    const words = Math.max(4, params.length);
    const bytes = Math.ceil((words * 4) / PARAM_ALIGN) * PARAM_ALIGN;
    if (this.arenaUsed + bytes > ARENA_BYTES) this.flush();
    const offset = this.arenaUsed;
    this.arenaHost.set(params, offset / 4);
    this.arenaUsed += bytes;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena, offset, size: words * 4 } }];
    buffers.forEach((b, i) => entries.push({ binding: i + 1,
      resource: { buffer: b.buffer, offset: b.offset ?? 0, size: b.size ?? b.buffer.size - (b.offset ?? 0) } }));
    const bindGroup = this.gpu.createBindGroup({ layout, entries, label: kernel.label });
    const pass = this.openPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    this.dispatchCount++;
    if (++this.pending >= this.dispatchesPerSubmit) this.flush();
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.openEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.pending++;
  }

  /** Uploads host bytes into `dst` at `dstOffset`, in encoder order (safe with pooled buffers). */
  upload(data: ArrayBufferView, dst: GPUBuffer, dstOffset = 0): void {
    const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // In chunks of at most stagingChunkBytes: one staging buffer per chunk, so a tensor near the binding
    // limit never needs a staging buffer of its own size (maxBufferSize may be smaller than host memory).
    const chunk = Math.max(4, Math.floor(this.stagingChunkBytes / 4) * 4);
    for (let at = 0; at < src.byteLength; at += chunk) {
      const part = src.subarray(at, Math.min(src.byteLength, at + chunk));
      const bytes = Math.ceil(part.byteLength / 4) * 4;
      const staging = this.gpu.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
      new Uint8Array(staging.getMappedRange()).set(part);
      staging.unmap();
      this.copy(staging, 0, dst, dstOffset + at, bytes);
      this.afterSubmit.push(staging);
      // Staging buffers are freed at submit; bound them so loading a large checkpoint stays near one tensor.
      this.stagingBytes += bytes;
      if (this.stagingBytes > STAGING_FLUSH_BYTES) this.flush();
    }
  }

  /** Submits everything encoded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.arenaUsed > 0) {
      this.gpu.queue.writeBuffer(this.arena, 0, this.arenaHost.buffer, 0, this.arenaUsed);
      this.arenaUsed = 0;
    }
    this.gpu.queue.submit([this.encoder.finish()]);
    this.submitCount++;
    this.encoder = null;
    this.pending = 0;
    for (const b of this.afterSubmit) b.destroy();
    this.afterSubmit.length = 0;
    this.stagingBytes = 0;
  }

  /** Reads `bytes` from `src` at `offset` (both multiples of 4), submitting pending work first. */
  async read(src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.checkErrors();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    // In chunks (see upload): the staging buffers, not one of the tensor's size.
    const stagings: GPUBuffer[] = [];
    const chunk = Math.max(4, Math.floor(this.stagingChunkBytes / 4) * 4);
    for (let at = 0; at < size; at += chunk) {
      const n = Math.min(size - at, chunk);
      const staging = this.gpu.createBuffer({ size: n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      stagings.push(staging);
      this.copy(src, offset + at, staging, 0, n);
    }
    this.flush();
    try {
      await Promise.all(this.pendingChecks);
      this.checkErrors();
      const out = new Uint8Array(bytes);
      for (let i = 0; i < stagings.length; i++) {
        await stagings[i].mapAsync(GPUMapMode.READ);
        const at = i * chunk;
        out.set(new Uint8Array(stagings[i].getMappedRange(), 0, Math.min(stagings[i].size, bytes - at)), at);
        stagings[i].destroy();
      }
      return out.buffer;
    } catch (e) {
      this.checkErrors();
      throw e;
    } finally {
      for (const s of stagings) s.destroy();
      this.checkErrors();
    }
  }

  /** Waits until all submitted work has finished; surfaces any GPU error. */
  async sync(): Promise<void> {
    this.flush();
    await Promise.all(this.pendingChecks);
    await this.gpu.queue.onSubmittedWorkDone();
    this.checkErrors();
  }

  memory(): MemoryStats { return this.pool.stats(); }

  /** Returns pooled (unused) buffers to the driver. Pending work is submitted first: it may use them. */
  trimPool(): void {
    this.flush();
    this.pool.trim();
  }

  describe(): DeviceDescription {
    const info = this.adapter.info as GPUAdapterInfo & Record<string, unknown>;
    // Dawn's info objects do not spread or JSON-serialise: read fields by name.
    const configs: SubgroupMatrixConfig[] = [];
    const raw = (info as unknown as { subgroupMatrixConfigs?: SubgroupMatrixConfig[] }).subgroupMatrixConfigs ?? [];
    for (const c of raw) {
      configs.push({ componentType: String(c.componentType), resultComponentType: String(c.resultComponentType), M: c.M, N: c.N, K: c.K });
    }
    const limits: Record<string, number> = {};
    for (const k of KEY_LIMITS) limits[k] = Number((this.limits as unknown as Record<string, number>)[k]);
    limits.maxBindingBytes = this.maxBindingBytes; // what the engine binds at most (the limits, or the option below them)
    return {
      vendor: String(info.vendor ?? ''), architecture: String(info.architecture ?? ''),
      device: String(info.device ?? ''), description: String(info.description ?? ''),
      driver: String((info as Record<string, unknown>).driverDescription ?? info.description ?? ''),
      // Dawn's Node bindings do not report the backend; it is the one asked for, else the platform's default.
      backend: this.options.backend ?? ({ linux: 'vulkan', darwin: 'metal', win32: 'd3d12' } as Record<string, string>)[process.platform] ?? 'unknown',
      adapterType: info.isFallbackAdapter ? 'cpu (software fallback)' : 'gpu',
      features: [...this.features].sort(),
      subgroupMinSize: info.subgroupMinSize as number | undefined,
      subgroupMaxSize: info.subgroupMaxSize as number | undefined,
      subgroupMatrixConfigs: configs,
      limits,
      toggles: { enable: [...this.toggles.enable], disable: [...this.toggles.disable], reasons: { ...this.toggles.reasons } },
    };
  }

  /** Submits pending work, waits for it, and releases the device so the process can exit. */
  async close(): Promise<void> {
    if (this.destroyed) return;
    try { if (!this.lostError) await this.sync(); } finally {
      this.destroyed = true;
      this.flush();
      this.pool.trim();
      this.arena.destroy();
      this.gpu.destroy();
      if (defaultDevice === this) defaultDevice = null;
    }
  }

  get isClosed(): boolean { return this.destroyed; }
  get root(): GPU | null { return this.gpuRoot; }
}

let globalsInstalled = false;

/** Opens an adapter and a device through Dawn with the adapter's full limits and the features we use. */
export async function openDevice(options: DeviceOptions = {}): Promise<Device> {
  if (!globalsInstalled) { Object.assign(globalThis, globals); globalsInstalled = true; }
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  // Toggles depend on the adapter (NVIDIA), known only once one is found: ask with the adapter-independent
  // choice, then, if the adapter needs more, open a new instance with the full choice and ask again.
  let toggles = selectToggles(null, options);
  let { gpu, adapter } = await requestAdapter(options, toggles);
  const info = adapter.info as GPUAdapterInfo;
  const full = selectToggles({ vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description }, options);
  if (!sameToggles(full, toggles)) {
    toggles = full;
    ({ gpu, adapter } = await requestAdapter(options, toggles));
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  if (options.timing && !adapter.features.has('timestamp-query')) {
    throw new NoAdapterError(`timing was asked for but the adapter "${info.description || info.device}" has no timestamp-query feature`, false);
  }
  const requiredLimits: Record<string, number> = {};
  for (const k in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  // Dawn reduces a few dynamic-offset limits artificially and would refuse them at full value.
  delete requiredLimits.maxDynamicUniformBuffersPerPipelineLayout;
  delete requiredLimits.maxDynamicStorageBuffersPerPipelineLayout;
  const gpuDevice = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'webgpu-engine' });
  const device = new Device(gpuDevice, adapter, gpu, options, toggles);
  if (options.makeDefault !== false) defaultDevice ??= device;
  return device;
}

/** One Dawn instance created with `toggles` and its adapter for `options`; a clear error when none matches. */
async function requestAdapter(options: DeviceOptions, toggles: ToggleChoice): Promise<{ gpu: GPU; adapter: GPUAdapter }> {
  const flags = toggleFlags(toggles);
  if (options.backend) flags.push(`backend=${options.backend}`);
  if (options.adapterName) flags.push(`adapter=${options.adapterName}`);
  let gpu: GPU;
  let adapter: GPUAdapter | null = null;
  try {
    gpu = create(flags);
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  } catch (e) {
    const msg = String((e as Error).message ?? e);
    // Dawn lists the adapters it does have when a named one or a backend is missing.
    if ((options.adapterName || options.backend) && /Available adapters/.test(msg)) {
      throw new NoAdapterError(`no adapter matches backend=${options.backend ?? 'any'} adapter=${JSON.stringify(options.adapterName ?? 'any')}; ` +
        msg.replace(/^.*?Available adapters:/s, 'available adapters:').replace(/\s*\n\s*/g, ' '), false);
    }
    throw new NoAdapterError(msg);
  }
  if (!adapter) throw new NoAdapterError(options.backend || options.adapterName
    ? `backend=${options.backend ?? 'any'}, adapter=${options.adapterName ?? 'any'}` : '');
  return { gpu, adapter };
}

let defaultDevice: Device | null = null;
let opening: Promise<Device> | null = null;

/** Options for the default device from the environment (WEBGPU_ENGINE_BACKEND, _ADAPTER, _TOGGLES, _FAST, _TIMING, _MAX_BINDING). */
function optionsFromEnv(): DeviceOptions {
  const o: DeviceOptions = {};
  const env = process.env;
  if (env.WEBGPU_ENGINE_BACKEND) o.backend = env.WEBGPU_ENGINE_BACKEND;
  if (env.WEBGPU_ENGINE_ADAPTER) o.adapterName = env.WEBGPU_ENGINE_ADAPTER;
  if (env.WEBGPU_ENGINE_TOGGLES) o.enableToggles = env.WEBGPU_ENGINE_TOGGLES.split(',').filter(Boolean);
  if (env.WEBGPU_ENGINE_FAST === '1') o.fast = true;
  if (env.WEBGPU_ENGINE_TIMING === '1') o.timing = true;
  if (env.WEBGPU_ENGINE_MAX_BINDING) o.maxBindingBytes = parseBytes(env.WEBGPU_ENGINE_MAX_BINDING, 'WEBGPU_ENGINE_MAX_BINDING');
  return o;
}

/** The default device, opened on first use with options from the environment. */
export async function getDevice(): Promise<Device> {
  if (defaultDevice && !defaultDevice.isClosed) return defaultDevice;
  opening ??= openDevice(optionsFromEnv()).finally(() => { opening = null; });
  return opening;
}

/** The default device, which must already be open (tensor creation is synchronous). */
export function currentDevice(): Device {
  if (!defaultDevice || defaultDevice.isClosed) {
    throw new Error('no device is open: call `await getDevice()` (or openDevice()) before creating tensors');
  }
  return defaultDevice;
}

export function setDefaultDevice(d: Device): void { defaultDevice = d; }

export async function closeDefaultDevice(): Promise<void> {
  const d = defaultDevice;
  defaultDevice = null;
  if (d) await d.close();
}
