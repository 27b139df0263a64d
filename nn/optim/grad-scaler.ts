// Dynamic loss scaling for f16 training, with torch.cuda.amp.GradScaler's semantics: the loss is
// multiplied by the scale (2^16 at first); the optimizer step unscales the gradients, and if any is
// inf/NaN skips the update and multiplies the scale by the backoff factor (0.5); after growthInterval
// (2000) clean steps in a row the scale grows by growthFactor (2). The scale and the count of clean
// steps live on the GPU and are updated by the optimizer's step (kernels/optim.ts), without readback.
import { Tensor, mul } from '../../engine/index.js';
import { untrack } from '../../engine/scope.js';
import { f32Bits, fromF32Bits } from './optimizer.js';

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  /** A disabled scaler passes losses through and makes the step a plain one (as PyTorch's). */
  enabled?: boolean;
}

export interface GradScalerState { scale: number; growthTracker: number }

export class GradScaler {
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly enabled: boolean;
  /** u32 words [scale (f32 bits), growth tracker]. */
  readonly state: Tensor;
  private readonly scaleView: Tensor;

  constructor(opts: GradScalerOptions = {}) {
    const init = opts.initScale ?? 2 ** 16;
    this.growthFactor = opts.growthFactor ?? 2;
    this.backoffFactor = opts.backoffFactor ?? 0.5;
    this.growthInterval = opts.growthInterval ?? 2000;
    this.enabled = opts.enabled ?? true;
    if (!(init > 0) || !Number.isFinite(init)) throw new RangeError(`GradScaler: initScale must be a finite number > 0, got ${init}`);
    if (!(this.growthFactor > 1)) throw new RangeError(`GradScaler: growthFactor must be > 1, got ${this.growthFactor}`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) throw new RangeError(`GradScaler: backoffFactor must be in (0, 1), got ${this.backoffFactor}`);
    if (!Number.isInteger(this.growthInterval) || this.growthInterval < 1) {
      throw new RangeError(`GradScaler: growthInterval must be a positive integer, got ${this.growthInterval}`);
    }
    this.state = Tensor.fromHost(Uint32Array.from([f32Bits(init), 0]), [2], 'u32');
    // The scale word read as an f32 scalar: the same storage, so it follows the GPU-side updates.
    this.scaleView = new Tensor(this.state.storage.retain(), [1], 'f32', [1], 0);
    untrack(this.state); untrack(this.scaleView);
  }

  /** loss * scale (f32; a new tensor in the graph). Backward of it gives scaled gradients. Disabled: the loss itself. */
  scale(loss: Tensor): Tensor {
    if (!this.enabled) return loss;
    return mul(loss, this.scaleView);
  }

  /** The current scale (a sync point). */
  async getScale(): Promise<number> { return (await this.stateDict()).scale; }

  async stateDict(): Promise<GradScalerState> {
    const w = await this.state.toArray() as Uint32Array;
    return { scale: fromF32Bits(w[0]), growthTracker: w[1] };
  }

  loadStateDict(s: GradScalerState): void {
    if (!(s?.scale > 0) || !Number.isInteger(s.growthTracker) || s.growthTracker < 0) {
      throw new RangeError(`GradScaler.loadStateDict: expected { scale > 0, growthTracker >= 0 integer }, got ${JSON.stringify(s)}`);
    }
    const fresh = Tensor.fromHost(Uint32Array.from([f32Bits(s.scale), s.growthTracker]), [2], 'u32', this.state.device);
    // Write in place (the scale view shares the storage) by a copy command.
    this.state.device.copy(fresh.storage.buffer, 0, this.state.storage.buffer, 0, 8);
    fresh.dispose();
  }

  dispose(): void { this.scaleView.dispose(); this.state.dispose(); }
}
