// test/ullava/models/ullava/pointer-prompt.test.ts: the pointer [SEG] prompt (seg_prompt "pointer") on
// hand-computed cases: where CLIP's patches lie in a padded image, the pointer's target distributions and
// loss (vs float64), and the prompt it gives SAM: with all weight on one patch, exactly SAM's foreground
// point token at that patch's centre.
import * as assert from 'uvu/assert';
import { test } from '../../../harness/test.js';
import { assertClose } from '../../../harness/assert.js';
import * as E from '../../../../engine/index.js';
import { clipPatchGrid } from '../../../../ullava/models/ullava/patch-geometry.js';
import { pointerTargets, pointerLoss, pointerPrompts, patchCentres, generatedSegContexts, contextWords } from '../../../../ullava/models/ullava/pointer-prompt.js';
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

test('a [SEG]\'s context: the prompt and the answer before it (one per [SEG]); its words leave out the media block', () => {
  assert.equal(generatedSegContexts([1, 2], [5, 32007, 6, 32007], 32007), [[1, 2, 5], [1, 2, 5, 32007, 6]]);
  assert.equal(generatedSegContexts([1, 2], [5, 6], 32007), []);
  const t = ULLAVA_TOKEN_IDS;
  const config = { tokens: t } as UllavaConfig;
  assert.equal(contextWords(config, [1, 319, t.imageStart, t.imagePatch, t.imagePatch, t.imageEnd, 2654, t.videoStart, t.videoPatch, t.videoEnd, 6862]), [1, 319, 2654, 6862]);
});
