// TensorFlow.js's WebGPU backend as a peer, on the same Dawn adapter, in the same process.
// It opens its own device through its own `navigator.gpu`; we keep a reference so Node can exit after.
import { create, globals } from 'webgpu';

type TF = typeof import('@tensorflow/tfjs-core');
let tfPromise: Promise<TF | null> | null = null;

/** Loads TF.js with the WebGPU backend, or null (with the reason printed) when it is unavailable. */
export function loadTfjs(): Promise<TF | null> {
  tfPromise ??= (async () => {
    try {
      Object.assign(globalThis, globals);
      const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
      if (!g.navigator?.gpu) {
        Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: create([]) }, configurable: true });
      }
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend(webgpu) failed');
      await tf.ready();
      return tf;
    } catch (e) {
      console.warn(`TensorFlow.js peer unavailable: ${(e as Error).message}`);
      return null;
    }
  })();
  return tfPromise;
}

/** Drops TF.js's hold on its GPU so the process can exit. */
export function releaseTfjs(): void {
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (g.navigator) delete g.navigator.gpu;
}
