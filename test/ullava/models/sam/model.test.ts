// SAM (tiny configurations) against the float64 reference in test/ref/sam.ts: windows, relative
// positions, encoder blocks and the whole encoder, the prompt encoder, the mask decoder for text
// embeddings, points and boxes with multimask on and off, postprocessing, and mask-loss gradients.
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose } from '../../../harness/assert.js';
import * as E from '../../../../engine/index.js';
import { NDArray } from '../../../ref/ndarray.js';
import * as R from '../../../ref/sam.js';
import { windowPartition, windowUnpartition, getRelPos, decomposedRelPosBias, relPosIndex } from '../../../../ullava/models/sam/image-encoder.js';
import { samVitH, samVitB, samVitL, samTiny } from '../../../../ullava/models/sam/config.js';
import { Sam } from '../../../../ullava/models/sam/model.js';
import { tinySam, normals, rng, nd, f32 } from './helpers.js';

const TOL = { atol: 2e-4, rtol: 2e-3 };

function randomNd(shape: number[], seed: number, scale = 1): NDArray {
  return NDArray.from(shape, normals(shape.reduce((a, b) => a * b, 1), rng(seed)).map((v) => v * scale));
}
const up = (a: NDArray) => E.Tensor.fromHost(f32(a), a.shape, 'f32');

test('sam: configs of the published encoders', () => {
  const h = samVitH(), l = samVitL(), b = samVitB();
  assert.equal([h.encoder.embedDim, h.encoder.depth, h.encoder.numHeads, h.encoder.globalAttnIndexes], [1280, 32, 16, [7, 15, 23, 31]]);
  assert.equal([l.encoder.embedDim, l.encoder.depth, l.encoder.numHeads, l.encoder.globalAttnIndexes], [1024, 24, 16, [5, 11, 17, 23]]);
  assert.equal([b.encoder.embedDim, b.encoder.depth, b.encoder.numHeads, b.encoder.globalAttnIndexes], [768, 12, 12, [2, 5, 8, 11]]);
  assert.equal([h.encoder.windowSize, h.encoder.patchSize, h.encoder.imageSize, h.encoder.outChans], [14, 16, 1024, 256]);
});

test('sam: window partition pads bottom/right and unpartition inverts it', async () => {
  await E.getDevice();
  const x = randomNd([2, 5, 7, 3], 1);
  const xt = up(x);
  const { windows, padHW } = windowPartition(xt, 3);
  const ref = R.windowPartition(x, 3);
  assert.equal(padHW, [6, 9]);
  assert.equal(windows.shape, [2 * 2 * 3, 3, 3, 3]);
  assertClose(await windows.toArray(), f32(ref.windows), { atol: 0, rtol: 0 });
  const back = windowUnpartition(windows, 3, padHW, [5, 7]);
  assert.equal(back.shape, [2, 5, 7, 3]);
  assertClose(await back.toArray(), f32(x), { atol: 0, rtol: 0 });
  // No padding needed: the windows are a pure rearrangement.
  const y = randomNd([1, 4, 4, 2], 2);
  const w2 = windowPartition(up(y), 2);
  assert.equal(w2.padHW, [4, 4]);
  assertClose(await w2.windows.toArray(), f32(R.windowPartition(y, 2).windows), { atol: 0, rtol: 0 });
  for (const t of [xt, windows, back, w2.windows]) t.dispose();
});

test('sam: get_rel_pos (with table interpolation, q != k) and the decomposed rel-pos bias', async () => {
  await E.getDevice();
  assert.equal([...relPosIndex(3, 3)], [2, 1, 0, 3, 2, 1, 4, 3, 2]);
  assert.equal([...relPosIndex(4, 2)], [2, 0, 3, 1, 4, 2, 5, 3]); // key coords scaled by 2
  for (const [L, q, k] of [[7, 4, 4], [5, 4, 4], [11, 4, 4], [7, 4, 2], [9, 3, 5]]) {
    const table = randomNd([L, 6], 10 + L);
    const got = getRelPos(up(table), q, k);
    assert.equal(got.shape, [q, k, 6]);
    assertClose(await got.toArray(), f32(R.getRelPos(table, q, k)), { atol: 1e-6, rtol: 1e-5, message: `L ${L} q ${q} k ${k}` });
    got.dispose();
  }
  const q = randomNd([3, 4 * 3, 5], 20);
  for (const [Lh, Lw] of [[7, 5], [5, 9]]) {
    const th = randomNd([Lh, 5], 21), tw = randomNd([Lw, 5], 22);
    const bias = decomposedRelPosBias(up(q), up(th), up(tw), [4, 3], [4, 3]);
    assert.equal(bias.shape, [3, 12, 12]);
    assertClose(await bias.toArray(), f32(R.relPosBias(q, th, tw, [4, 3], [4, 3])), { atol: 1e-5, rtol: 1e-4, message: `tables ${Lh}, ${Lw}` });
    bias.dispose();
  }
});

test('sam: encoder blocks (windowed with padding, global) and the whole image encoder', async () => {
  const { model, cfg, P } = await tinySam(3);
  const enc = model.imageEncoder;
  const x = randomNd([1, 4, 4, cfg.encoder.embedDim], 30);
  for (const i of [0, 1]) {
    const blk = enc.blocks.at(i);
    assert.equal(blk.windowSize, i === 0 ? 3 : 0);
    const ref = R.encoderBlock(P, `image_encoder.blocks.${i}`, x, cfg.encoder, blk.windowSize);
    // Whole attention at once, then in blocks of query rows (7 rows of 16 keys x 2 heads: blocks of 7, 7, 2).
    for (const bytes of [Infinity, 7 * 16 * 2 * 4]) {
      blk.attn.blockBytes = bytes;
      const y = blk.forward(up(x));
      assertClose(await y.toArray(), f32(ref), { ...TOL, message: `block ${i}, block bytes ${bytes}` });
      y.dispose();
    }
  }
  const pixels = randomNd([1, 3, 64, 64], 31);
  const emb = E.noGrad(() => model.encodeImage(up(pixels)));
  assert.equal(emb.shape, [1, 16, 4, 4]);
  assertClose(await emb.toArray(), f32(R.imageEncoder(P, cfg.encoder, pixels)), { ...TOL, message: 'encoder' });
  emb.dispose();
  model.dispose();
});

test('sam: prompt encoder (points with padding point, box, points + box, masks, text embeddings, dense PE)', async () => {
  const { model, cfg, P } = await tinySam(4);
  const pe = model.promptEncoder;
  const C = 16;
  const dense = pe.getDensePe();
  assert.equal(dense.shape, [1, C, 4, 4]);
  assertClose(await dense.toArray(), f32(R.densePe(P, 4, 4)), { atol: 1e-5, rtol: 1e-4, message: 'dense pe' });
  const pts = { coords: [[[10, 20], [40.5, 3]], [[63, 63], [0, 0]]], labels: [[1, 0], [1, -1]] };
  const box = [[4, 8, 50, 60], [0, 0, 63, 31]];
  const text = randomNd([2, 3, C], 40);
  const masks = randomNd([2, 1, 16, 16], 41);
  const cases: [string, R.RefPrompts, number][] = [
    ['points', { points: pts }, 3], ['box', { boxes: box }, 2], ['points+box', { points: pts, boxes: box }, 4],
    ['text', { textEmbeds: text }, 3], ['points+text+masks', { points: pts, textEmbeds: text, masks }, 6],
  ];
  for (const [name, rp, n] of cases) {
    const prompts = {
      points: rp.points ? { coords: rp.points.coords.flat(2), labels: rp.points.labels.flat(), batch: 2, count: 2 } : undefined,
      boxes: rp.boxes ? { values: rp.boxes.flat(), batch: 2 } : undefined,
      textEmbeds: rp.textEmbeds ? up(rp.textEmbeds) : undefined,
      masks: rp.masks ? up(rp.masks) : undefined,
    };
    const { sparse, dense: d } = pe.forward(prompts);
    const ref = R.promptEncoder(P, cfg, rp);
    assert.equal(sparse.shape, [2, n, C], name);
    assert.equal(d.shape, [2, C, 4, 4], name);
    assertClose(await sparse.toArray(), f32(ref.sparse), { atol: 1e-4, rtol: 1e-3, message: `${name} sparse` });
    assertClose(await d.toArray(), f32(ref.dense), { ...TOL, message: `${name} dense` });
    sparse.dispose(); d.dispose();
  }
  const empty = pe.forward({});
  assert.equal(empty.sparse.shape, [1, 0, C]);
  dense.dispose();
  model.dispose();
});

test('sam: mask decoder end to end (text embeddings on one image, points, box; multimask on/off) and postprocess', async () => {
  const { model, cfg, P } = await tinySam(5);
  const image = randomNd([1, 16, 4, 4], 50);
  const imgT = up(image);
  const text = randomNd([3, 1, 16], 51);
  const cases: [string, R.RefPrompts, number][] = [
    ['text', { textEmbeds: text }, 3],
    ['points', { points: { coords: [[[12, 30], [50, 9]]], labels: [[1, 0]] } }, 1],
    ['box', { boxes: [[5, 6, 40, 58]] }, 1],
  ];
  for (const [name, rp, B] of cases) {
    for (const multimask of [false, true]) {
      const out = E.noGrad(() => model.predict(imgT, {
        points: rp.points ? { coords: rp.points.coords.flat(2), labels: rp.points.labels.flat(), batch: B, count: rp.points.labels[0].length } : undefined,
        boxes: rp.boxes ? { values: rp.boxes.flat(), batch: B } : undefined,
        textEmbeds: rp.textEmbeds ? up(rp.textEmbeds) : undefined,
      }, multimask));
      const pr = R.promptEncoder(P, cfg, rp);
      const ref = R.maskDecoder(P, cfg, image, R.densePe(P, 4, 4), pr.sparse, pr.dense, multimask);
      const k = multimask ? 3 : 1;
      assert.equal(out.lowResMasks.shape, [B, k, 16, 16], name);
      assert.equal(out.iouPredictions.shape, [B, k], name);
      assertClose(await out.lowResMasks.toArray(), f32(ref.masks), { ...TOL, message: `${name} multimask ${multimask} masks` });
      assertClose(await out.iouPredictions.toArray(), f32(ref.iouPred), { ...TOL, message: `${name} multimask ${multimask} iou` });
      if (name === 'text' && !multimask) {
        const post = model.postprocess(out.lowResMasks, [64, 43], [90, 60]);
        assert.equal(post.shape, [3, 1, 90, 60]);
        assertClose(await post.toArray(), f32(R.postprocess(ref.masks, [64, 43], [90, 60], 64)), { ...TOL, message: 'postprocess' });
        post.dispose();
      }
      out.lowResMasks.dispose(); out.iouPredictions.dispose();
    }
  }
  imgT.dispose();
  model.dispose();
});

test('sam: mask-loss gradients of mask-decoder parameters match finite differences of the reference', async () => {
  const { model, cfg, P } = await tinySam(6);
  const image = randomNd([1, 16, 4, 4], 60);
  const text = randomNd([2, 1, 16], 61);
  const target = NDArray.from([2, 1, 16, 16], Array.from({ length: 512 }, (_, i) => ((i * 7919) % 3 === 0 ? 1 : 0)));
  const checks: [string, number[]][] = [
    ['mask_decoder.output_hypernetworks_mlps.0.layers.2.weight', [0, 5]],
    ['mask_decoder.mask_tokens.weight', [3]],
    ['mask_decoder.transformer.layers.1.cross_attn_image_to_token.v_proj.weight', [7]],
    ['mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight', [2]],
    ['mask_decoder.output_upscaling.1.weight', [1]],
    ['mask_decoder.output_upscaling.0.weight', [9]],
  ];
  const sd = model.stateDict();
  const textT = up(text);
  const loss = E.scope(() => {
    const { lowResMasks } = model.predict(up(image), { textEmbeds: textT }, false);
    return E.binaryCrossEntropyWithLogits(lowResMasks, up(target));
  });
  E.backward(loss);
  const refLoss = (Pm: R.Params) => {
    const pr = R.promptEncoder(Pm, cfg, { textEmbeds: text });
    const { masks } = R.maskDecoder(Pm, cfg, image, R.densePe(Pm, 4, 4), pr.sparse, pr.dense, false);
    let s = 0;
    masks.data.forEach((x, i) => { const y = target.data[i]; s += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x))); });
    return s / masks.size;
  };
  assertClose([await loss.item()], [refLoss(P)], { atol: 1e-5, rtol: 1e-4, message: 'loss' });
  const eps = 1e-4;
  for (const [key, idxs] of checks) {
    const grad = sd.get(key)!.grad;
    assert.ok(grad, `no gradient for ${key}`);
    const g = await grad.toArray();
    for (const i of idxs) {
      const base = P.get(key)!;
      const bump = (d: number) => { const c = base.clone(); c.data[i] += d; return new Map(P).set(key, c); };
      const fd = (refLoss(bump(eps)) - refLoss(bump(-eps))) / (2 * eps);
      assertClose([g[i]], [fd], { atol: 2e-5, rtol: 2e-2, message: `${key}[${i}]` });
    }
  }
  loss.dispose(); textT.dispose();
  model.zeroGrad();
  model.dispose();
});

test('sam: tiny forward (encoder + text prompt decode + postprocess) timing and no leaks', async () => {
  const dev = await E.getDevice();
  const model = new Sam(samTiny(), 7);
  const pixels = E.Tensor.fromHost(normals(3 * 64 * 64, rng(70)), [1, 3, 64, 64], 'f32');
  const text = E.Tensor.fromHost(normals(16, rng(71)), [1, 1, 16], 'f32');
  const run = () => E.noGrad(() => E.scope(() => {
    const emb = model.encodeImage(pixels);
    const { lowResMasks } = model.predict(emb, { textEmbeds: text }, false);
    return model.postprocess(lowResMasks, [64, 48], [128, 96]);
  }));
  const warm = run(); await warm.toArray(); warm.dispose(); // warm-up: pipelines compiled
  const before = dev.memory().liveBytes;
  const t0 = performance.now();
  const out = run();
  const v = await out.toArray();
  const ms = performance.now() - t0;
  assert.equal(out.shape, [1, 1, 128, 96]);
  assert.ok(v.every(Number.isFinite));
  out.dispose();
  assert.equal(dev.memory().liveBytes, before, 'live bytes after a forward');
  console.log(`     tiny SAM forward: ${ms.toFixed(1)} ms`);
  pixels.dispose(); text.dispose(); model.dispose();
});
