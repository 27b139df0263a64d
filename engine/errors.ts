// Typed errors of the engine, so callers can tell a missing driver from a lost device or a bad shape.

/** No WebGPU adapter: the machine lacks a GPU driver with Vulkan/Metal/D3D12, or lavapipe. */
export class NoAdapterError extends Error {
  constructor(detail: string, installHint = true) {
    super(!installHint ? detail :
      `no WebGPU adapter found${detail ? ` (${detail})` : ''}. ` +
      'Install a GPU driver with Vulkan support (NVIDIA/AMD/Intel), or on a machine without a GPU the software ' +
      'Vulkan driver lavapipe (Debian: `apt-get install -t bookworm-backports mesa-vulkan-drivers`, or run ' +
      'scripts/install-vulkan.sh) and set VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json.');
    this.name = 'NoAdapterError';
  }
}

/** The device was lost (driver reset, destroy(), out of memory in the driver). Nothing on it is usable. */
export class DeviceLostError extends Error {
  constructor(public readonly reason: string, message: string) {
    super(`WebGPU device lost (${reason}): ${message}`);
    this.name = 'DeviceLostError';
  }
}

// Named Device*, not GPU*: WebGPU's own globals are GPUValidationError and GPUOutOfMemoryError, and
// the device has to tell its errors from those.

/** A WebGPU validation error: a bug in a kernel or a limit that was exceeded. */
export class DeviceValidationError extends Error {
  constructor(message: string, public readonly label = '') {
    super(`WebGPU validation error${label ? ` in ${label}` : ''}: ${message}`);
    this.name = 'DeviceValidationError';
  }
}

/** The device could not allocate memory. */
export class DeviceOutOfMemoryError extends Error {
  constructor(message: string) {
    super(`GPU out of memory: ${message}`);
    this.name = 'DeviceOutOfMemoryError';
  }
}

/** A generated WGSL kernel did not compile. */
export class ShaderCompilationError extends Error {
  constructor(label: string, messages: string) {
    super(`WGSL compilation failed for ${label}:\n${messages}`);
    this.name = 'ShaderCompilationError';
  }
}

/** Shapes or dtypes that an op cannot take; thrown before anything is encoded. */
export class ShapeError extends Error {
  constructor(message: string) { super(message); this.name = 'ShapeError'; }
}
