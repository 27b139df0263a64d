// test/ullava/models/ullava/pointer-prompt.test.ts: the pointer [SEG] prompt (seg_prompt "pointer") on
// hand-computed cases: where CLIP's patches lie in a padded image, the pointer's target distributions and
// loss (vs float64), and the prompt it gives SAM: with all weight on one patch, exactly SAM's foreground
// point token at that patch's centre; and the pointer's scores, its question's words against the image's features.
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose } from '../../../harness/assert.js';
import * as E from '../../../../engine/index.js';
import { clipPatchGrid } from '../../../../ullava/models/ullava/patch-geometry.js';
import { pointerTargets, pointerLoss, pointerPrompts, patchCentres, segRoundPrompt, questionWords, pointerLogits, POINTER_SCALE } from '../../../../ullava/models/ullava/pointer-prompt.js';
import { ULLAVA_TOKEN_IDS, type UllavaConfig } from '../../../../ullava/models/ullava/config.js';
import { loadUllava } from '../../../../ullava/models/ullava/load.js';
import { smallTrainModelDir } from '../../train/fixture.js';

test('clipPatchGrid: an 8x4 image padded to a centred 8x8 square, 2x2 patches: which patch each pixel falls in, and the centres', () => {
  const g = clipPatchGrid(8, 4, 4, 2); // padded side 8 (2 rows of padding above), scale 0.5, a patch is 4 original pixels wide
  assert.equal([g.G, g.patchArea], [2, 16]);
  assert.equal([g.patchOf(0, 0), g.patchOf(3, 0), g.patchOf(4, 0), g.patchOf(0, 1), g.patchOf(0, 2), g.patchOf(7, 3)], [0, 0, 1, 0, 2, 3]);
  assert.equal([g.centre(0), g.centre(1), g.centre(3)], [[2, 0], [6, 0], [6, 4]]);
});

test('pointerTargets: each mask\'s share per patch (an empty mask gives zeros); pointerLoss: the cross-entropy over rows with a target (vs float64)', async () => {
  await E.getDevice();
  const m = new Uint8Array(8 * 4);
  for (let x = 0; x < 4; x++) m[x] = 1;            // row 0, x 0..3: patch 0
  for (let x = 4; x < 8; x++) m[3 * 8 + x] = 1;    // row 3, x 4..7: patch 3
  m[3] = 255;                                       // an ignored pixel is not inside
  const t = pointerTargets([m, new Uint8Array(32)], 8, 4, 4, 2);
  assert.equal(Array.from(t), [3 / 7, 0, 0, 4 / 7, 0, 0, 0, 0].map(Math.fround));
  const logits = [1, 2, 3, 4.5, 0.5, -1, 2, 0];
  const loss = pointerLoss(E.Tensor.from(logits, [2, 4]), t);
  const lse = Math.log(logits.slice(0, 4).reduce((a, v) => a + Math.exp(v), 0));
  const want = -(t[0] * (logits[0] - lse) + t[3] * (logits[3] - lse)); // the empty row counts for nothing, not even the mean
  assertClose([await loss.item()], [want], { atol: 1e-6, rtol: 1e-5 });
  loss.dispose();
});

test('pointerPrompts: all weight on one patch gives SAM\'s foreground point token at that patch\'s centre, mapped to SAM\'s input frame', async () => {
  const l = await loadUllava(await smallTrainModelDir(), { dtype: 'f32' });
  const m = l.model;
  // CLIP 28 px, patch 14 (2x2 patches); a 20x40 image is padded to 40x40 (10 columns each side): a patch is 20 px.
  const original: [number, number] = [40, 20], input: [number, number] = [64, 32];
  const centres = patchCentres(m, original, input);
  // Patch 1 (top right): centre (20, 10), pixel index (19.5, 9.5), times 32 / 20 = 1.6 in SAM's frame.
  assertClose(Array.from(centres.slice(2, 4)), [31.2, 15.2], { atol: 1e-5, rtol: 0 });
  const got = E.noGrad(() => pointerPrompts(m, E.Tensor.from([0, 60, 0, 0], [1, 4]), original, input));
  assert.equal(got.shape, [1, 1, m.config.outDim]);
  const want = E.noGrad(() => m.visualModel.promptEncoder.pointTokens({ coords: [31.2, 15.2], labels: [1], batch: 1, count: 1 }));
  assertClose(await got.toArray(), await want.toArray(), { atol: 1e-4, rtol: 1e-4 });
  got.dispose(); want.dispose(); m.dispose();
});

test('a [SEG]\'s prompt is the conversation before its answer; its question is the last user turn without the media block, BOS and earlier rounds', () => {
  const I = -100;
  //            BOS  sys  img_beg patch img_end  q    ASSIST  ans  [SEG] </s>  USER  q2  ASSIST ans  [SEG]
  const ids =  [1,   10,  32003,  32001, 32004, 20,  30,     40,  32007, 2,    50,   21, 30,    41,  32007];
  const labels = [I, I,   I,      I,     I,     I,   I,      40,  32007, 2,    I,    I,  I,     41,  32007];
  assert.equal(segRoundPrompt(ids, labels, 8), ids.slice(0, 7));
  assert.equal(segRoundPrompt(ids, labels, 14), ids.slice(0, 13));
  const t = ULLAVA_TOKEN_IDS;
  const config = { tokens: t, llm: { bosTokenId: 1, eosTokenId: 2 } } as UllavaConfig;
  assert.equal(questionWords(config, ids.slice(0, 7)), [20, 30]);
  assert.equal(questionWords(config, ids.slice(0, 13)), [50, 21, 30]);
  assert.equal(questionWords(config, [1, 10, 20]), [10, 20], 'no media block: everything after BOS');
});

test('pointerLogits: each [SEG]\'s question words, summed, against each projected feature, times POINTER_SCALE (vs float64 on the host)', async () => {
  const l = await loadUllava(await smallTrainModelDir(), { dtype: 'f32' });
  const m = l.model;
  const H = m.config.llm.hiddenSize, P = 4;
  const feats = Float32Array.from({ length: P * H }, (_, k) => Math.sin(0.37 * k));
  const table = await m.lm.model.embed_tokens.weight.toArray();
  const t = m.config.tokens;
  const prompts = [[1, 5, t.imageStart, t.imagePatch, t.imageEnd, 7, 9, 7], [1, t.imageStart, t.imagePatch, t.imageEnd, 11]];
  const words = [[7, 9, 7], [11]];
  const got = E.noGrad(() => pointerLogits(m, { features: E.Tensor.from(Array.from(feats), [P, H]), prompts }));
  const want = words.flatMap((ws) => Array.from({ length: P }, (_, p) => {
    let s = 0;
    for (const w of ws) for (let h = 0; h < H; h++) s += table[w * H + h] * feats[p * H + h];
    return s * POINTER_SCALE;
  }));
  assertClose(await got.toArray(), want, { atol: 1e-4, rtol: 1e-4 });
  assert.throws(() => E.noGrad(() => pointerLogits(m, { features: E.Tensor.from(Array.from(feats), [P, H]), prompts: [[1, t.imageStart, t.imageEnd]] })), /no question words/);
  got.dispose(); m.dispose();
});
