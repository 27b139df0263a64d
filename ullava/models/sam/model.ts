// SAM: image encoder + prompt encoder + mask decoder, with segment_anything's key names (image_encoder.*,
// prompt_encoder.*, mask_decoder.*; pixel_mean/std are not persistent in the checkpoints).
import { Tensor, scope } from '../../../engine/index.js';
import { Module, seedPlus } from '../../../nn/index.js';
import { ImageEncoderViT } from './image-encoder.js';
import { PromptEncoder, type Prompts } from './prompt-encoder.js';
import { MaskDecoder } from './mask-decoder.js';
import { postprocessMasks } from './postprocess.js';
import { embeddingGrid, type SamConfig } from './config.js';

export interface SamPrediction {
  /** Low-resolution mask logits [B, 3 or 1, 4h, 4w] (256x256 for the published models). */
  lowResMasks: Tensor;
  /** [B, 3 or 1]. */
  iouPredictions: Tensor;
}

export class Sam extends Module {
  readonly imageEncoder: ImageEncoderViT;
  readonly promptEncoder: PromptEncoder;
  readonly maskDecoder: MaskDecoder;
  constructor(readonly config: SamConfig, seed?: number) {
    super();
    const e = config.encoder;
    const g = embeddingGrid(config);
    this.imageEncoder = this.module('image_encoder', new ImageEncoderViT(e));
    this.promptEncoder = this.module('prompt_encoder', new PromptEncoder(e.outChans, [g, g], [e.imageSize, e.imageSize],
      config.maskInChans, seed));
    this.maskDecoder = this.module('mask_decoder', new MaskDecoder(e.outChans, config.decoder, seedPlus(seed, 100)));
  }

  /** Normalised, padded pixels [B, 3, S, S] -> image embeddings [B, outChans, S/16, S/16]. */
  encodeImage(pixels: Tensor): Tensor { return this.imageEncoder.forward(pixels); }

  /**
   * Masks for prompts on one image embedding ([1, C, h, w], shared by the B prompts) or one per prompt
   * ([B, C, h, w]). u-LLaVA calls it with { textEmbeds: [nSeg, 1, 256] } and multimaskOutput false.
   */
  predict(imageEmbeddings: Tensor, prompts: Prompts, multimaskOutput: boolean): SamPrediction {
    return scope(() => {
      const { sparse, dense } = this.promptEncoder.forward(prompts);
      const { masks, iouPred } = this.maskDecoder.forward({ imageEmbeddings, imagePe: this.promptEncoder.getDensePe(),
        sparse, dense, multimaskOutput });
      return { lowResMasks: masks, iouPredictions: iouPred };
    });
  }

  /** Logits on the original image [B, C, H0, W0] (threshold > 0 for the binary mask). */
  postprocess(lowResMasks: Tensor, inputSize: [number, number], originalSize: [number, number]): Tensor {
    return postprocessMasks(lowResMasks, inputSize, originalSize, this.config.encoder.imageSize);
  }
}
