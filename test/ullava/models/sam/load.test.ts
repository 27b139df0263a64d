// SAM checkpoints under the three namings (segment_anything, u-LLaVA's visual_model., transformers'
// SamModel), strict loading, loading from a file, and the host-side preprocessing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose } from '../../../harness/assert.js';
import * as E from '../../../../engine/index.js';
import { StateDictError } from '../../../../nn/index.js';
import { writeSafetensors } from '../../../../nn/io/safetensors.js';
import { Sam } from '../../../../ullava/models/sam/model.js';
import { samTiny } from '../../../../ullava/models/sam/config.js';
import { detectSamNaming, loadSamStateDict, samKey, loadSam } from '../../../../ullava/models/sam/load.js';
import { preprocessShape, preprocessImage, applyCoords } from '../../../../ullava/models/sam/preprocess.js';
import { tinySam } from './helpers.js';

/**
 * segment_anything -> HF SamModel names, following transformers' convert_sam_to_hf.py: substring
 * replacements applied in order, then the hypernetwork MLPs' layer renumbering, plus the top-level copy
 * of the positional matrix.
 */
function toHfNames(keys: string[]): Map<string, string> {
  const rules: [string, string][] = [
    ['iou_prediction_head.layers.0', 'iou_prediction_head.proj_in'], ['iou_prediction_head.layers.1', 'iou_prediction_head.layers.0'],
    ['iou_prediction_head.layers.2', 'iou_prediction_head.proj_out'], ['mask_decoder.output_upscaling.0', 'mask_decoder.upscale_conv1'],
    ['mask_decoder.output_upscaling.1', 'mask_decoder.upscale_layer_norm'], ['mask_decoder.output_upscaling.3', 'mask_decoder.upscale_conv2'],
    ['mask_downscaling.0', 'mask_embed.conv1'], ['mask_downscaling.1', 'mask_embed.layer_norm1'], ['mask_downscaling.3', 'mask_embed.conv2'],
    ['mask_downscaling.4', 'mask_embed.layer_norm2'], ['mask_downscaling.6', 'mask_embed.conv3'], ['point_embeddings', 'point_embed'],
    ['pe_layer.positional_encoding_gaussian_matrix', 'shared_embedding.positional_embedding'], ['image_encoder', 'vision_encoder'],
    ['neck.0', 'neck.conv1'], ['neck.1', 'neck.layer_norm1'], ['neck.2', 'neck.conv2'], ['neck.3', 'neck.layer_norm2'],
    ['patch_embed.proj', 'patch_embed.projection'], ['.norm', '.layer_norm'], ['blocks', 'layers'],
  ];
  const out = new Map<string, string>();
  for (const k0 of keys) {
    let k = k0;
    for (const [a, b] of rules) if (k.includes(a)) k = k.split(a).join(b);
    const m = /.*\.output_hypernetworks_mlps\.(\d+)\.layers\.(\d+).*/.exec(k);
    if (m) k = k.replace(`layers.${m[2]}`, ['proj_in', 'layers.0', 'proj_out'][Number(m[2])]);
    out.set(k, k0);
  }
  out.set('shared_image_embedding.positional_embedding', 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix');
  return out;
}

async function sameParameters(a: Sam, b: Sam): Promise<void> {
  const sb = b.stateDict();
  for (const [k, t] of a.stateDict()) assertClose(await sb.get(k)!.toArray(), await t.toArray(), { atol: 0, rtol: 0, message: k });
}

test('sam load: segment_anything, u-LLaVA visual_model. and HF SamModel namings load strictly into the same model', async () => {
  const { model: src } = await tinySam(11);
  const own = src.stateDict();
  const keys = [...own.keys()];
  assert.ok(keys.includes('image_encoder.blocks.0.attn.rel_pos_h') && keys.includes('prompt_encoder.pe_layer.positional_encoding_gaussian_matrix')
    && keys.includes('mask_decoder.output_hypernetworks_mlps.3.layers.2.bias') && keys.includes('image_encoder.neck.3.weight'), 'segment_anything key names');
  const clone = (m: Map<string, string>) => new Map([...m].map(([to, from]) => [to, E.add(own.get(from)!, 0)]));
  const samSd = clone(new Map(keys.map((k) => [k, k])));
  const ullavaSd = clone(new Map(keys.map((k) => [`visual_model.${k}`, k])));
  ullavaSd.set('llm.model.embed_tokens.weight', E.zeros([4, 2])); // the rest of a u-LLaVA checkpoint is ignored
  ullavaSd.set('text_hidden_fcs.0.weight', E.zeros([2, 2]));
  const hfNames = toHfNames(keys);
  assert.ok(hfNames.has('vision_encoder.layers.1.layer_norm2.weight') && hfNames.has('mask_decoder.transformer.layer_norm_final_attn.bias')
    && hfNames.has('mask_decoder.output_hypernetworks_mlps.0.proj_out.weight') && hfNames.has('mask_decoder.iou_prediction_head.layers.0.weight')
    && hfNames.has('prompt_encoder.mask_embed.conv3.bias') && hfNames.has('vision_encoder.neck.layer_norm1.weight'), 'HF names');
  const hfSd = clone(hfNames);
  for (const [sd, naming] of [[samSd, 'sam'], [ullavaSd, 'ullava'], [hfSd, 'hf']] as const) {
    assert.equal(detectSamNaming(sd.keys()), naming);
    const dst = new Sam(samTiny(), 99);
    assert.equal(loadSamStateDict(dst, sd), naming);
    await sameParameters(src, dst);
    dst.dispose();
    for (const t of sd.values()) t.dispose();
  }
  assert.equal(samKey('visual_model.mask_decoder.iou_token.weight', 'ullava'), 'mask_decoder.iou_token.weight');
  assert.equal(samKey('pixel_mean', 'sam'), undefined);
  assert.equal(samKey('llm.lm_head.weight', 'ullava'), undefined);
  // Strictness: a missing and an unexpected tensor fail the load, naming both.
  const bad = clone(new Map(keys.map((k) => [k, k])));
  bad.get('mask_decoder.iou_token.weight')!.dispose(); bad.delete('mask_decoder.iou_token.weight');
  bad.set('mask_decoder.extra.weight', E.zeros([1]));
  const dst = new Sam(samTiny(), 98);
  let err: unknown;
  try { loadSamStateDict(dst, bad); } catch (e) { err = e; }
  assert.ok(err instanceof StateDictError && /missing 1: mask_decoder.iou_token.weight/.test(err.message) && /unexpected 1: mask_decoder.extra.weight/.test(err.message), String(err));
  for (const t of bad.values()) t.dispose();
  dst.dispose(); src.dispose();
});

test('sam load: loadSam streams SAM\'s tensors from u-LLaVA-style and HF-style safetensors files, with or without a config', async () => {
  const { model: src, host } = await tinySam(12);
  const dir = mkdtempSync(join(tmpdir(), 'sam-'));
  try {
    const ullavaPath = join(dir, 'ullava.safetensors');
    const tensors = [...src.stateDict()].map(([k, t]) => ({ name: `visual_model.${k}`, dtype: 'F32' as const, shape: [...t.shape],
      data: new Uint8Array(host.get(k)!.buffer.slice(0)) }));
    tensors.push({ name: 'llm.lm_head.weight', dtype: 'F32', shape: [2], data: new Uint8Array(8) });
    await writeSafetensors(ullavaPath, tensors);
    const given = await loadSam(ullavaPath, { config: samTiny() });
    assert.equal(given.naming, 'ullava');
    await sameParameters(src, given.model);
    given.model.dispose();
    // Without a config it is read off the shapes; only the decoder's head count is not in them (8, as published).
    const inferred = await loadSam(ullavaPath);
    assert.equal(inferred.config, { ...samTiny(), decoder: { ...samTiny().decoder, transformerHeads: 8 } });
    await sameParameters(src, inferred.model);
    inferred.model.dispose();
    // HF naming, including the MLPs' proj_out resolved against the model and the tied positional matrix.
    const hfPath = join(dir, 'hf.safetensors');
    const hfNames = toHfNames([...src.stateDict().keys()]);
    await writeSafetensors(hfPath, [...hfNames].map(([name, k]) => ({ name, dtype: 'F32' as const, shape: [...src.stateDict().get(k)!.shape],
      data: new Uint8Array(host.get(k)!.buffer.slice(0)) })));
    const hf = await loadSam(hfPath, { config: samTiny() });
    assert.equal(hf.naming, 'hf');
    await sameParameters(src, hf.model);
    hf.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    src.dispose();
  }
});

test('sam preprocess: ResizeLongestSide sizes, Pillow bilinear (antialiased) resize, normalise, zero pad', () => {
  assert.equal(preprocessShape(480, 640, 1024), [768, 1024]);
  assert.equal(preprocessShape(427, 640, 1024), [683, 1024]); // 682.9 -> int(683.3)
  assert.equal(preprocessShape(1000, 333, 1024), [1024, 341]);
  assert.equal(preprocessShape(1024, 1024, 1024), [1024, 1024]);
  // A 2x4 image -> longest side 2: 1x2. Pillow's bilinear with scale 2 has support 2: output x=0 reads
  // source 0..2 with taps (0.75, 0.75, 0.25) / 1.75, i.e. (3 a0 + 3 a1 + a2) / 7 (F.interpolate would
  // average only a0, a1).
  const row = [10, 40, 200, 90];
  const rgb = new Uint8Array(2 * 4 * 3);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 3; c++) rgb[(y * 4 + x) * 3 + c] = row[x] + c;
  const out = preprocessImage(rgb, 2, 4, { imageSize: 2 });
  assert.equal(out.inputSize, [1, 2]);
  assert.equal(out.originalSize, [2, 4]);
  const px = (x0: number, x1: number, x2: number) => Math.round((3 * x0 + 3 * x1 + x2) / 7);
  const want0 = px(10, 40, 200), want1 = px(90, 200, 40); // mirrored for the right output pixel
  const norm = (v: number, c: number) => Math.fround(v - Math.fround([123.675, 116.28, 103.53][c])) / Math.fround([58.395, 57.12, 57.375][c]);
  for (let c = 0; c < 3; c++) {
    assertClose([out.pixels[c * 4], out.pixels[c * 4 + 1]], [norm(want0 + c, c), norm(want1 + c, c)], { atol: 1e-6, rtol: 0, message: `channel ${c}` });
    assert.equal([out.pixels[c * 4 + 2], out.pixels[c * 4 + 3]], [0, 0], 'bottom row is zero padding');
  }
  // No resize when the longest side already matches; padding fills the rest.
  const sq = preprocessImage(new Uint8Array(3 * 2 * 3).fill(128), 3, 2, { imageSize: 3 });
  assert.equal(sq.inputSize, [3, 2]);
  assert.equal(sq.pixels[2], 0);
  assertClose([sq.pixels[0]], [norm(128, 0)]);
  assertClose([...applyCoords([320, 240], [480, 640], 1024)], [512, 384]);
});
