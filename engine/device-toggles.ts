// Which Dawn toggles a device is opened with: a pure function of the adapter's identity and the caller's
// options, so the choice is unit-tested without the hardware it is for.
//  - always `allow_unsafe_apis`: subgroup matrices (chromium-experimental-subgroup-matrix) sit behind it.
//  - NVIDIA: `vulkan_enable_f16_on_nvidia`; Dawn hides shader-f16 (and with it every f16 subgroup-matrix
//    config) on NVIDIA drivers older than 615.71 without it.
//  - `fast` (DeviceOptions.fast, WEBGPU_ENGINE_FAST=1): `skip_validation`, `disable_robustness`,
//    `disable_workgroup_init`, the speed toggles llama.cpp's WebGPU backend sets. Off by default: they
//    remove the checks that turn an out-of-bounds kernel into an error instead of garbage, and their gain
//    here is not measured yet.
//  - `timing` (DeviceOptions.timing, WEBGPU_ENGINE_TIMING=1): `timestamp_quantization` disabled, since
//    Dawn otherwise rounds timestamp queries to ~65 us (100 us on some drivers).
// Toggles the caller names explicitly win: an explicit disable removes an automatic enable and vice versa.

export const NVIDIA_F16_TOGGLE = 'vulkan_enable_f16_on_nvidia';
export const FAST_TOGGLES = ['skip_validation', 'disable_robustness', 'disable_workgroup_init'] as const;
export const TIMING_DISABLED_TOGGLE = 'timestamp_quantization';

/** What the toggle choice reads of an adapter (GPUAdapterInfo's fields; all optional: null means unknown). */
export interface AdapterIdentity { vendor?: string; architecture?: string; device?: string; description?: string }

export interface ToggleOptions {
  /** Enable the speed toggles (FAST_TOGGLES). */
  fast?: boolean;
  /** The caller times with timestamp queries: disable timestamp quantization. */
  timing?: boolean;
  /** Explicit toggles, applied last. */
  enableToggles?: string[];
  disableToggles?: string[];
}

export interface ToggleChoice {
  enable: string[];
  disable: string[];
  /** Why each toggle is in either list, for `ullava doctor`. */
  reasons: Record<string, string>;
}

/** PCI vendor id of NVIDIA, which Dawn reports as the vendor string on some platforms. */
const NVIDIA_PCI_ID = /^(0x)?10de$/i;

export function isNvidia(a: AdapterIdentity | null): boolean {
  if (!a) return false;
  const vendor = (a.vendor ?? '').trim();
  return /nvidia/i.test(vendor) || NVIDIA_PCI_ID.test(vendor) || /\bnvidia\b/i.test(`${a.description ?? ''} ${a.device ?? ''}`);
}

/** The toggles for an adapter (null: not yet known, before the first adapter request) and options. */
export function selectToggles(adapter: AdapterIdentity | null, opts: ToggleOptions = {}): ToggleChoice {
  const enable = new Map<string, string>([['allow_unsafe_apis', 'subgroup matrices need it']]);
  const disable = new Map<string, string>();
  if (isNvidia(adapter)) enable.set(NVIDIA_F16_TOGGLE, 'NVIDIA adapter: shader-f16 on drivers older than 615.71');
  if (opts.fast) for (const t of FAST_TOGGLES) enable.set(t, 'fast option, WEBGPU_ENGINE_FAST=1');
  if (opts.timing) disable.set(TIMING_DISABLED_TOGGLE, 'timing option: full-resolution timestamps');
  for (const t of opts.enableToggles ?? []) { disable.delete(t); enable.set(t, 'asked for'); }
  for (const t of opts.disableToggles ?? []) { enable.delete(t); disable.set(t, 'asked for'); }
  const reasons: Record<string, string> = {};
  for (const [t, why] of [...enable, ...disable]) reasons[t] = why;
  return { enable: [...enable.keys()], disable: [...disable.keys()], reasons };
}

/** Dawn's instance flags for a choice: `enable-dawn-features=...` and `disable-dawn-features=...`. */
export function toggleFlags(c: ToggleChoice): string[] {
  const flags: string[] = [];
  if (c.enable.length) flags.push(`enable-dawn-features=${c.enable.join(',')}`);
  if (c.disable.length) flags.push(`disable-dawn-features=${c.disable.join(',')}`);
  return flags;
}

export function sameToggles(a: ToggleChoice, b: ToggleChoice): boolean {
  const key = (c: ToggleChoice) => `${[...c.enable].sort().join(',')}|${[...c.disable].sort().join(',')}`;
  return key(a) === key(b);
}
