// SAM's configuration read off a checkpoint's tensor shapes, for checkpoints whose config says nothing
// about SAM (the published u-LLaVA's config.json, segment_anything's bare .pth files): the image
// encoder's width from the patch embedding, its depth from the blocks, the head width and which blocks
// are windowed from the relative-position tables, the image size from the position embedding, the neck's
// channels from its first conv; the mask decoder's and prompt encoder's sizes from theirs. Only the mask
// decoder's number of heads is not in any shape: it is 8, as in every published SAM.
import { SAM_PIXEL_MEAN, SAM_PIXEL_STD, type SamConfig } from './config.js';
import { samConfigFromHF, samConfigToHF } from './hf-config.js';

/** The mask decoder's heads (segment_anything's build_sam: TwoWayTransformer(num_heads=8)). */
export const SAM_DECODER_HEADS = 8;

/**
 * The configuration of the SAM whose tensors have these shapes. Keys are segment_anything's
 * (image_encoder.*, prompt_encoder.*, mask_decoder.*: use samKey to map the other namings; HF's `proj_out`
 * of the MLPs may stay as it is). `where` names the checkpoint in errors.
 */
export function inferSamConfig(shapes: ReadonlyMap<string, readonly number[]>, where = 'SAM checkpoint'): SamConfig {
  const need = (k: string, rank: number): readonly number[] => {
    const s = shapes.get(k);
    if (!s) throw new Error(`${where}: cannot infer SAM's configuration: no tensor ${k} (give the model's sam_config in config.json)`);
    if (s.length !== rank) throw new Error(`${where}: cannot infer SAM's configuration: ${k} has shape [${s}], expected ${rank} dimensions`);
    return s;
  };
  const count = (prefix: string, suffix: string) => { let n = 0; while (shapes.has(`${prefix}${n}${suffix}`)) n++; return n; };
  const enc = 'image_encoder.';

  const [embedDim, inChans, patchSize] = need(`${enc}patch_embed.proj.weight`, 4);
  const depth = count(`${enc}blocks.`, '.norm1.weight');
  if (depth === 0) throw new Error(`${where}: cannot infer SAM's configuration: no ${enc}blocks.0.*`);
  const mlpDim = need(`${enc}blocks.0.mlp.lin1.weight`, 2)[0];
  const outChans = need(`${enc}neck.0.weight`, 4)[0];
  const pos = shapes.get(`${enc}pos_embed`);

  // Relative-position tables are [2 * size - 1, head dim]: size is the window, or the whole grid in a
  // global block. Without them the head count and the windows are nowhere in the shapes.
  const relSizes: number[] = [];
  let headDim = 0;
  for (let i = 0; i < depth; i++) {
    const t = shapes.get(`${enc}blocks.${i}.attn.rel_pos_h`);
    if (!t) throw new Error(`${where}: cannot infer SAM's configuration: block ${i} has no relative-position table (rel_pos_h), so its heads and window are unknown (give the model's sam_config in config.json)`);
    relSizes.push((t[0] + 1) / 2);
    if (i === 0) headDim = t[1];
    else if (t[1] !== headDim) throw new Error(`${where}: block ${i}'s relative-position table has width ${t[1]}, block 0's ${headDim}`);
  }
  if (headDim === 0 || embedDim % headDim) throw new Error(`${where}: head width ${headDim} (from rel_pos_h) does not divide the width ${embedDim}`);
  const grid = pos ? pos[1] : Math.max(...relSizes);
  if (pos && (pos.length !== 4 || pos[1] !== pos[2] || pos[3] !== embedDim)) throw new Error(`${where}: ${enc}pos_embed has shape [${pos}], expected [1, grid, grid, ${embedDim}]`);
  const globalAttnIndexes = relSizes.flatMap((s, i) => (s === grid ? [i] : []));
  const windows = new Set(relSizes.filter((s) => s !== grid));
  if (windows.size > 1) throw new Error(`${where}: the windowed blocks have different windows (${[...windows].join(', ')}); one window_size is supported`);
  // All blocks global: the window size is never used (0 means global in segment_anything).
  const windowSize = windows.size ? [...windows][0] : 0;

  const dec = 'mask_decoder.';
  const [numMaskTokens] = need(`${dec}mask_tokens.weight`, 2);
  const transformerDepth = count(`${dec}transformer.layers.`, '.norm1.weight');
  const crossWidth = need(`${dec}transformer.layers.0.cross_attn_token_to_image.q_proj.weight`, 2)[0];
  // The IoU head: layers.0 .. layers.{n-1} (segment_anything), or HF's proj_in/layers.*/proj_out mapped
  // by samKey to layers.0 .. and proj_out.
  const iouLayers = count(`${dec}iou_prediction_head.layers.`, '.weight') + (shapes.has(`${dec}iou_prediction_head.proj_out.weight`) ? 1 : 0);
  const maskInChans = need('prompt_encoder.mask_downscaling.3.weight', 4)[0];
  const config: SamConfig = {
    encoder: {
      imageSize: grid * patchSize, patchSize, inChans, embedDim, depth, numHeads: embedDim / headDim, mlpRatio: mlpDim / embedDim,
      outChans, windowSize, globalAttnIndexes, qkvBias: shapes.has(`${enc}blocks.0.attn.qkv.bias`), useAbsPos: pos !== undefined,
      useRelPos: true, layerNormEps: 1e-6,
    },
    decoder: {
      numMultimaskOutputs: numMaskTokens - 1, transformerDepth, transformerHeads: SAM_DECODER_HEADS,
      transformerMlpDim: need(`${dec}transformer.layers.0.mlp.lin1.weight`, 2)[0],
      attentionDownsampleRate: outChans / crossWidth, iouHeadDepth: iouLayers,
      iouHeadHiddenDim: iouLayers > 1 ? need(`${dec}iou_prediction_head.layers.0.weight`, 2)[0] : 256,
    },
    maskInChans, pixelMean: [...SAM_PIXEL_MEAN], pixelStd: [...SAM_PIXEL_STD],
  };
  // The same checks as a written sam_config (e.g. 8 heads must divide the decoder's attention width).
  return samConfigFromHF(samConfigToHF(config), `${where}: SAM's configuration inferred from the weights' shapes (give sam_config in config.json if this is wrong)`);
}
