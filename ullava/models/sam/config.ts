// SAM configurations: the three published image encoders (ViT-B/L/H, as segment_anything/build_sam.py
// builds them) and tiny ones for tests. The prompt encoder and mask decoder are the same for all three.

export interface SamEncoderConfig {
  imageSize: number;          // padded square input (1024)
  patchSize: number;          // 16
  inChans: number;            // 3
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;           // 4
  outChans: number;           // the neck's output channels = the prompt embedding dim (256)
  windowSize: number;         // 14; blocks listed in globalAttnIndexes attend globally
  globalAttnIndexes: number[];
  qkvBias: boolean;
  useAbsPos: boolean;
  useRelPos: boolean;
  layerNormEps: number;       // 1e-6 in the ViT blocks (LayerNorm2d is 1e-6 too)
}

export interface SamDecoderConfig {
  numMultimaskOutputs: number; // 3 (+1 single-mask token)
  transformerDepth: number;    // 2
  transformerHeads: number;    // 8
  transformerMlpDim: number;   // 2048
  attentionDownsampleRate: number; // 2 (token<->image cross attention works in dim / 2)
  iouHeadDepth: number;        // 3
  iouHeadHiddenDim: number;    // 256
}

export interface SamConfig {
  encoder: SamEncoderConfig;
  decoder: SamDecoderConfig;
  /** Hidden channels of the prompt encoder's mask downscaling convs (16). */
  maskInChans: number;
  pixelMean: [number, number, number];
  pixelStd: [number, number, number];
}

export const SAM_PIXEL_MEAN: [number, number, number] = [123.675, 116.28, 103.53];
export const SAM_PIXEL_STD: [number, number, number] = [58.395, 57.12, 57.375];

const DECODER: SamDecoderConfig = {
  numMultimaskOutputs: 3, transformerDepth: 2, transformerHeads: 8, transformerMlpDim: 2048,
  attentionDownsampleRate: 2, iouHeadDepth: 3, iouHeadHiddenDim: 256,
};

function vit(embedDim: number, depth: number, numHeads: number, globalAttnIndexes: number[]): SamConfig {
  return {
    encoder: { imageSize: 1024, patchSize: 16, inChans: 3, embedDim, depth, numHeads, mlpRatio: 4, outChans: 256,
      windowSize: 14, globalAttnIndexes, qkvBias: true, useAbsPos: true, useRelPos: true, layerNormEps: 1e-6 },
    decoder: { ...DECODER }, maskInChans: 16, pixelMean: [...SAM_PIXEL_MEAN], pixelStd: [...SAM_PIXEL_STD],
  };
}

export const samVitH = (): SamConfig => vit(1280, 32, 16, [7, 15, 23, 31]);
export const samVitL = (): SamConfig => vit(1024, 24, 16, [5, 11, 17, 23]);
export const samVitB = (): SamConfig => vit(768, 12, 12, [2, 5, 8, 11]);

/**
 * A tiny SAM for tests: 64px input, 16px patches (a 4x4 grid), window 3 (so the windowed block pads the
 * grid to 6x6 and has four windows), embed 32, depth 2 with block 1 global, 16 output channels.
 */
export function samTiny(over: Partial<SamEncoderConfig> = {}): SamConfig {
  return {
    encoder: { imageSize: 64, patchSize: 16, inChans: 3, embedDim: 32, depth: 2, numHeads: 2, mlpRatio: 2, outChans: 16,
      windowSize: 3, globalAttnIndexes: [1], qkvBias: true, useAbsPos: true, useRelPos: true, layerNormEps: 1e-6, ...over },
    decoder: { numMultimaskOutputs: 3, transformerDepth: 2, transformerHeads: 2, transformerMlpDim: 24,
      attentionDownsampleRate: 2, iouHeadDepth: 3, iouHeadHiddenDim: 12 },
    maskInChans: 8, pixelMean: [...SAM_PIXEL_MEAN], pixelStd: [...SAM_PIXEL_STD],
  };
}

export const SAM_CONFIGS = { vit_h: samVitH, vit_l: samVitL, vit_b: samVitB, tiny: samTiny } as const;
export type SamVariant = keyof typeof SAM_CONFIGS;

/** The image embedding's grid (64x64 for the published models). */
export function embeddingGrid(c: SamConfig): number { return c.encoder.imageSize / c.encoder.patchSize; }

/**
 * The blocks' MLP width, int(dim * mlp_ratio) as segment_anything computes it; the tiny epsilon keeps a
 * ratio inferred from the weights (mlp_dim / dim, which may round just below) at that mlp_dim.
 */
export function samMlpDim(c: Pick<SamEncoderConfig, 'embedDim' | 'mlpRatio'>): number {
  return Math.trunc(c.embedDim * c.mlpRatio + 1e-6);
}
