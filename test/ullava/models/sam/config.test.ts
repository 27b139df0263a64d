// SAM's configuration in config.json (HF's SamConfig form, validated field by field) and inferred from a
// checkpoint's shapes when config.json has none (the published u-LLaVA), for ViT-B/L/H and any size.
import { cp, mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose, assertRejects } from '../../../harness/assert.js';
import * as E from '../../../../engine/index.js';
import { Sam } from '../../../../ullava/models/sam/model.js';
import { samTiny, samVitB, samVitH, samVitL, type SamConfig, type SamEncoderConfig } from '../../../../ullava/models/sam/config.js';
import { samConfigFromHF, samConfigToHF } from '../../../../ullava/models/sam/hf-config.js';
import { inferSamConfig } from '../../../../ullava/models/sam/infer-config.js';
import { ullavaConfigFromJSON } from '../../../../ullava/models/ullava/config.js';
import { tinyUllavaConfigJSON, writeTinyUllava } from '../../../../ullava/models/ullava/tiny.js';
import { loadUllava } from '../../../../ullava/models/ullava/load.js';

type Json = Record<string, Record<string, unknown>>;
const hf = (c: SamConfig) => samConfigToHF(c) as Json;

test('sam config: HF SamConfig form round-trips ViT-B/L/H and the tiny SAM', () => {
  for (const c of [samVitB(), samVitL(), samVitH(), samTiny()]) assert.equal(samConfigFromHF(samConfigToHF(c)), c);
  const j = hf(samVitH());
  assert.equal(Object.keys(j).sort(), ['mask_decoder_config', 'model_type', 'prompt_encoder_config', 'vision_config']);
  assert.equal([j.vision_config.hidden_size, j.vision_config.num_hidden_layers, j.vision_config.global_attn_indexes, j.vision_config.output_channels],
    [1280, 32, [7, 15, 23, 31], 256]);
});

test('sam config: a config.json as transformers writes it (HF defaults, training-only fields) reads as segment_anything\'s model', () => {
  // facebook/sam-vit-huge's config.json, abridged: HF's defaults fill what it leaves out.
  const json = {
    _name_or_path: '/tmp/sam-vit-huge', architectures: ['SamModel'], initializer_range: 0.02, model_type: 'sam',
    vision_config: { hidden_size: 1280, num_hidden_layers: 32, num_attention_heads: 16, global_attn_indexes: [7, 15, 23, 31],
      mlp_dim: 5120, dropout: 0.0, attention_dropout: 0.0, initializer_factor: 1.0, initializer_range: 1e-10, model_type: '' },
    prompt_encoder_config: { model_type: '' }, mask_decoder_config: { model_type: '' },
  };
  assert.equal(samConfigFromHF(json), samVitH());
  assert.equal(samConfigFromHF({}), samVitB()); // HF's SamVisionConfig defaults are ViT-B's
});

test('sam config: each wrong field is refused naming the field, the value and what is expected', async () => {
  const cases: [string, (j: Json) => void, RegExp][] = [
    ['width', (j) => { j.vision_config.hidden_size = 'big'; }, /sam_config\.vision_config\.hidden_size = "big": expected an integer >= 1/],
    ['heads', (j) => { j.vision_config.num_attention_heads = 5; }, /vision_config\.num_attention_heads = 5: expected a divisor of hidden_size \(32\)/],
    ['image', (j) => { j.vision_config.image_size = 70; }, /vision_config\.image_size = 70: expected a multiple of patch_size \(16\)/],
    ['globals', (j) => { j.vision_config.global_attn_indexes = [1, 9]; }, /global_attn_indexes = \[1,9\]: expected a list of distinct integers in \[0, 2\)/],
    ['act', (j) => { j.vision_config.hidden_act = 'silu'; }, /vision_config\.hidden_act = "silu": expected "gelu"/],
    ['flag', (j) => { j.vision_config.use_rel_pos = 1; }, /vision_config\.use_rel_pos = 1: expected true or false/],
    ['ratio', (j) => { j.vision_config.mlp_ratio = -1; }, /vision_config\.mlp_ratio = -1: expected a positive number/],
    ['mlp', (j) => { j.vision_config.mlp_dim = 65; }, /vision_config\.mlp_dim = 65: expected 64 \(hidden_size \* mlp_ratio\)/],
    ['window', (j) => { j.vision_config.window_size = -2; }, /vision_config\.window_size = -2: expected an integer >= 0/],
    ['pos feats', (j) => { j.vision_config.num_pos_feats = 128; }, /vision_config\.num_pos_feats = 128: expected 8, the same as output_channels \/ 2/],
    ['camel', (j) => { j.vision_config.embedDim = 32; }, /vision_config\.embedDim: unknown field .*embed_dim/],
    ['prompt width', (j) => { j.prompt_encoder_config.hidden_size = 256; }, /prompt_encoder_config\.hidden_size = 256: expected 16, the same as sam_config\.vision_config\.output_channels/],
    ['mask chans', (j) => { j.prompt_encoder_config.mask_input_channels = 6; }, /mask_input_channels = 6: expected a multiple of 4/],
    ['points', (j) => { j.prompt_encoder_config.num_point_embeddings = 3; }, /num_point_embeddings = 3: expected 4/],
    ['decoder heads', (j) => { j.mask_decoder_config.num_attention_heads = 3; }, /mask_decoder_config\.num_attention_heads = 3: expected a divisor of hidden_size \/ attention_downsample_rate \(16 \/ 2\)/],
    ['decoder act', (j) => { j.mask_decoder_config.hidden_act = 'gelu'; }, /mask_decoder_config\.hidden_act = "gelu": expected "relu"/],
    ['iou depth', (j) => { j.mask_decoder_config.iou_head_depth = 0; }, /mask_decoder_config\.iou_head_depth = 0: expected an integer >= 1/],
    ['default', (j) => { delete j.vision_config.global_attn_indexes; }, /global_attn_indexes = \[2,5,8,11\] \(HF's default: the field is not given\): expected a list of distinct integers in \[0, 2\)/],
    ['sub-object', (j) => { (j as Record<string, unknown>).mask_decoder_config = [1]; }, /sam_config\.mask_decoder_config = \[1\]: expected a JSON object/],
  ];
  for (const [what, mutate, re] of cases) {
    const j = hf(samTiny());
    mutate(j);
    await assertRejects(() => samConfigFromHF(j), re, what);
  }
});

test('sam config: the old camelCase dump in config.json is refused with how to convert it', async () => {
  const json = tinyUllavaConfigJSON();
  json.sam_config = samTiny(); // what this project used to write
  await assertRejects(() => ullavaConfigFromJSON(json, 'config.json'),
    /config\.json: sam_config: this is the old camelCase form .*vision_config: \{ hidden_size: encoder\.embedDim.*delete sam_config/);
  assert.equal(ullavaConfigFromJSON(tinyUllavaConfigJSON(), 'config.json').sam, samTiny());
  // No sam_config and no weights to read it from (a model built to be trained): the published ViT-H.
  const published = tinyUllavaConfigJSON();
  delete published.sam_config;
  assert.equal(ullavaConfigFromJSON(published, 'config.json').sam, samVitH());
  assert.equal(ullavaConfigFromJSON(published, 'config.json', 'published', () => samVitB()).sam, samVitB());
});

/**
 * The shapes inference reads, written from segment_anything's modules (not from ours): patch embedding,
 * pos_embed, per block norm1 and rel_pos_h ([2 * size - 1, head dim], size = window or grid), qkv and MLP,
 * the neck, and the decoder / prompt encoder sizes.
 */
function segmentAnythingShapes(e: SamEncoderConfig): Map<string, number[]> {
  const D = e.embedDim, g = e.imageSize / e.patchSize, hd = D / e.numHeads;
  const m = new Map<string, number[]>([
    ['image_encoder.patch_embed.proj.weight', [D, 3, e.patchSize, e.patchSize]], ['image_encoder.pos_embed', [1, g, g, D]],
    ['image_encoder.neck.0.weight', [256, D, 1, 1]], ['mask_decoder.mask_tokens.weight', [4, 256]],
    ['prompt_encoder.mask_downscaling.3.weight', [16, 4, 2, 2]],
  ]);
  for (let i = 0; i < e.depth; i++) {
    const s = e.globalAttnIndexes.includes(i) ? g : e.windowSize;
    m.set(`image_encoder.blocks.${i}.norm1.weight`, [D]);
    m.set(`image_encoder.blocks.${i}.attn.rel_pos_h`, [2 * s - 1, hd]);
    m.set(`image_encoder.blocks.${i}.attn.qkv.bias`, [3 * D]);
    m.set(`image_encoder.blocks.${i}.mlp.lin1.weight`, [4 * D, D]);
  }
  for (let i = 0; i < 2; i++) m.set(`mask_decoder.transformer.layers.${i}.norm1.weight`, [256]);
  m.set('mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight', [128, 256]);
  m.set('mask_decoder.transformer.layers.0.mlp.lin1.weight', [2048, 256]);
  for (const [i, s] of [[256, 256], [256, 256], [4, 256]].entries()) m.set(`mask_decoder.iou_prediction_head.layers.${i}.weight`, s);
  return m;
}

test('sam config: ViT-B, ViT-L and ViT-H are inferred from segment_anything\'s shapes', () => {
  for (const c of [samVitB(), samVitL(), samVitH()]) assert.equal(inferSamConfig(segmentAnythingShapes(c.encoder)), c);
});

test('sam config: any size is inferred from a model\'s own shapes (windows, globals, heads, image size, no abs pos, no qkv bias)', async () => {
  await E.getDevice();
  const decoder = { ...samTiny().decoder, transformerHeads: 8 };
  const variants: Partial<SamEncoderConfig>[] = [
    {},
    { windowSize: 2, globalAttnIndexes: [0] },
    { depth: 3, embedDim: 48, numHeads: 3, globalAttnIndexes: [0, 2], mlpRatio: 1.5 },
    { imageSize: 80, useAbsPos: false, qkvBias: false },
    { globalAttnIndexes: [0, 1], windowSize: 0 },
  ];
  for (const v of variants) {
    const c: SamConfig = { ...samTiny(v), decoder };
    const model = new Sam(c);
    const shapes = new Map([...model.stateDict()].map(([k, t]) => [k, [...t.shape]]));
    model.dispose();
    assert.equal(inferSamConfig(shapes), c, JSON.stringify(v));
  }
  // Without relative-position tables the heads and windows are in no shape: say so.
  const noRel = new Sam({ ...samTiny({ useRelPos: false }), decoder });
  const shapes = new Map([...noRel.stateDict()].map(([k, t]) => [k, [...t.shape]]));
  noRel.dispose();
  await assertRejects(() => inferSamConfig(shapes, 'ckpt'), /ckpt: cannot infer SAM's configuration: block 0 has no relative-position table .*sam_config/);
});

test('sam config: a tiny u-LLaVA whose config.json has no sam_config loads and segments exactly as with it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sam-config-'));
  try {
    // A decoder with 8 heads: the one thing inference cannot read off the shapes (all published SAMs have 8).
    const sam: SamConfig = { ...samTiny({ windowSize: 2, globalAttnIndexes: [0] }), decoder: { ...samTiny().decoder, transformerHeads: 8 } };
    const withCfg = await writeTinyUllava(join(root, 'with'), { sam });
    // The same files, config.json without sam_config (as the published one).
    const without = join(root, 'without');
    await cp(withCfg, without, { recursive: true });
    const json = JSON.parse(await readFile(join(without, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.ok('sam_config' in json);
    delete json.sam_config;
    await writeFile(join(without, 'config.json'), JSON.stringify(json));
    const a = await loadUllava(withCfg, { dtype: 'f32' }), b = await loadUllava(without, { dtype: 'f32' });
    try {
      assert.equal(b.config.sam, a.config.sam);
      assert.equal(a.config.sam, sam);
      const S = sam.encoder.imageSize;
      const pixels = E.Tensor.fromHost(Float32Array.from({ length: 3 * S * S }, (_, i) => Math.sin(i * 0.37)), [1, 3, S, S], 'f32');
      const text = E.Tensor.fromHost(Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)), [1, 1, 16], 'f32');
      const run = async (m: typeof a) => E.noGrad(async () => {
        const emb = m.model.visualModel.encodeImage(pixels);
        const p = m.model.visualModel.predict(emb, { textEmbeds: text }, false);
        const out = [await emb.toArray(), await p.lowResMasks.toArray(), await p.iouPredictions.toArray()];
        emb.dispose(); p.lowResMasks.dispose(); p.iouPredictions.dispose();
        return out;
      });
      const [ra, rb] = [await run(a), await run(b)];
      for (let i = 0; i < ra.length; i++) assertClose(rb[i], ra[i], { atol: 0, rtol: 0 });
      pixels.dispose(); text.dispose();
    } finally { a.model.dispose(); b.model.dispose(); }
    // A published-layout config with a SAM of another size than the weights' is refused by the strict load.
    const wrong = { ...json, sam_config: samConfigToHF(samTiny()) };
    await writeFile(join(without, 'config.json'), JSON.stringify(wrong));
    let err: unknown;
    try { (await loadUllava(without, { dtype: 'f32' })).model.dispose(); } catch (e) { err = e; }
    assert.ok(err instanceof Error && /rel_pos_h/.test(err.message), String(err));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
