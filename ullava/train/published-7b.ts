// The config.json of the published u-LLaVA-7B (HF jinxu95/ullava), for planning runs of the real model
// without its 15 GB of weights: Vicuna-7B v1.1 (hidden 4096, MLP 11008, 32 layers and heads, 2048
// positions, vocabulary 32010 with u-LLaVA's added tokens), CLIP ViT-L/14 at 224 px (HF's defaults for
// it), the 1024 -> 4096 linear projector, and SAM ViT-H (the model's config does not name SAM; the
// published weights are ViT-H).
import { ULLAVA_TOKEN_IDS } from '../models/ullava/config.js';

export function publishedUllava7bConfigJSON(): Record<string, unknown> {
  return {
    architectures: ['UllavaForCausalLM'], model_type: 'ullava', out_dim: 256, seg_token_idx: 32007,
    llm_config: {
      model_type: 'ullava_core', architectures: ['UllavaCoreForCausalLM'],
      vocab_size: 32010, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
      max_position_embeddings: 2048, rms_norm_eps: 1e-6, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0,
      tie_word_embeddings: false, hidden_act: 'silu', vision_hidden_layer: -2,
      mm_token_ids: { IMG_START: ULLAVA_TOKEN_IDS.imageStart, IMG_END: ULLAVA_TOKEN_IDS.imageEnd,
        VID_START: ULLAVA_TOKEN_IDS.videoStart, VID_END: ULLAVA_TOKEN_IDS.videoEnd },
      vision_config: { hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 24, num_attention_heads: 16,
        image_size: 224, patch_size: 14, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5, projection_dim: 768 },
    },
  };
}
