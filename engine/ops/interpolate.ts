// Bilinear resize of [N, C, H, W] with PyTorch's F.interpolate(mode='bilinear') semantics; the kernels'
// bodies are kernels/interpolate.ts.
import { Tensor } from '../tensor.js';
import { record } from '../autograd.js';
import { runMap, f32Bits } from './launch.js';
import { ShapeError } from '../errors.js';
import { isFloat } from '../dtype.js';
import { BILINEAR_FORWARD, BILINEAR_BACKWARD } from '../../kernels/interpolate.js';

export interface InterpolateOptions { alignCorners?: boolean }

/** PyTorch's scale for a given input and output size (align_corners or not), in f32. */
function axisScale(inSize: number, outSize: number, align: boolean): number {
  if (align) return outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : 0;
  return Math.fround(inSize / outSize);
}

/** F.interpolate(x, size=[Ho, Wo], mode='bilinear', align_corners) for x [N, C, H, W]. */
export function interpolateBilinear(x: Tensor, size: readonly [number, number] | readonly number[], opts: InterpolateOptions = {}): Tensor {
  x.assertAlive('interpolate_bilinear');
  if (x.rank !== 4) throw new ShapeError(`interpolate_bilinear: input must be [N, C, H, W], got [${x.shape}]`);
  if (!isFloat(x.dtype)) throw new TypeError(`interpolate_bilinear: needs a floating tensor, got ${x.dtype}`);
  const [Ho, Wo] = size;
  if (size.length !== 2 || ![Ho, Wo].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new ShapeError(`interpolate_bilinear: output size must be two positive integers, got [${size}]`);
  }
  const [N, C, H, W] = x.shape;
  if (H < 1 || W < 1) throw new ShapeError(`interpolate_bilinear: input [${x.shape}] is empty`);
  const align = opts.alignCorners ?? false;
  const scH = axisScale(H, Ho, align), scW = axisScale(W, Wo, align);
  const out = runMap({ kernel: BILINEAR_FORWARD, outShape: [N, C, Ho, Wo], outDtype: x.dtype,
    inputs: [{ name: 'x', tensor: x, strides: [x.strides[0], x.strides[1], 0, 0] }],
    scalars: [H, W, x.strides[2], x.strides[3], f32Bits(scH), f32Bits(scW), align ? 1 : 0] });
  return record('interpolate_bilinear', out, [x], (g) => [runMap({ kernel: BILINEAR_BACKWARD, outShape: [N, C, H, W], outDtype: x.dtype,
    inputs: [{ name: 'g', tensor: g, strides: [g.strides[0], g.strides[1], 0, 0] }],
    scalars: [H, W, g.strides[2], g.strides[3], f32Bits(scH), f32Bits(scW), align ? 1 : 0, Ho, Wo] })]);
}
