// The pointer prompt (pointer-prompt.ts) on the question sentence alone, outside any conversation, on any
// checkpoint, trained for the pointer or not: the question's word embeddings, summed and scored against the
// image's projected features, give a distribution over patches; SAM's decoder gets its point prompt at the
// expected patch centre; the mask is compared with a ground-truth mask.
// Usage (after npm run build): node scripts/probe-word-pointer.mjs MODEL IMAGE "the red square" [GT_MASK.png] [SCALE]
//   SCALE multiplies the summed scores (default POINTER_SCALE, 2/3).
// On docs/demo.png with the shapes recipe's stage I checkpoint (SAM stage decoder, vision stage tower): "the
// red square" IoU 0.91 against docs/demo-mask.png; "the blue circle" and "the green triangle" land on their shapes.
// In the turn as a chat prompt has it ("\n" before, "ASSISTANT:" after) the same checkpoint fails (IoU 0.06):
// stage II's pointer loss trains those words too.
import { loadUllava } from '../dist/ullava/models/ullava/load.js';
import { loadImage } from '../dist/ullava/media/load-image.js';
import { preprocessClip } from '../dist/ullava/models/clip/preprocess.js';
import { preprocessImage } from '../dist/ullava/models/sam/preprocess.js';
import { pointerLogits, pointerPrompts, POINTER_SCALE } from '../dist/ullava/models/ullava/pointer-prompt.js';
import { segmentationQuestion } from '../dist/ullava/chat/conversation.js';
import * as E from '../dist/engine/index.js';

const [dir, imagePath, expression, maskPath, scaleArg] = process.argv.slice(2);
if (!dir || !imagePath || !expression) throw new Error('usage: node scripts/probe-word-pointer.mjs MODEL IMAGE "expression" [GT_MASK.png] [SCALE]');
const scale = Number(scaleArg ?? POINTER_SCALE);
await E.getDevice();
const { model: m, tokenizer } = await loadUllava(dir, { dtype: 'f32' });
const image = await loadImage(imagePath);
const v = m.config.vision, S = m.config.sam.encoder.imageSize;
const question = segmentationQuestion(expression);
const ids = tokenizer.encode(question);
const sam = preprocessImage(image.data, image.height, image.width, { imageSize: S });
const { mask, weights } = E.noGrad(() => E.scope(() => {
  const clip = Float32Array.from(preprocessClip(image, { size: v.imageSize }));
  const feats = m.encodeImages(E.Tensor.fromHost(clip, [1, 3, v.imageSize, v.imageSize], 'f32'));
  const f = E.reshape(feats, [feats.shape[1], feats.shape[2]]);
  // No media block and no BOS in `ids`: the question words are all of them.
  const logits = E.mul(pointerLogits(m, { features: f, prompts: [ids] }), scale / POINTER_SCALE);
  const emb = m.visualModel.encodeImage(E.Tensor.fromHost(sam.pixels, [1, 3, S, S], 'f32'));
  const prompts = pointerPrompts(m, logits, [image.height, image.width], sam.inputSize);
  return { mask: m.decodeMaskPrompts(prompts, emb, sam.inputSize, [image.height, image.width]), weights: E.softmax(logits, 1) };
}));
const p = await weights.toArray(), G = Math.round(Math.sqrt(p.length));
console.log(`question: ${question}\npointer (% per patch, ${G}x${G}):`);
for (let y = 0; y < G; y++) console.log(Array.from(p.slice(y * G, (y + 1) * G), (x) => String(Math.round(100 * x)).padStart(4)).join(''));
const pred = await mask.toArray();
let n = 0, cx = 0, cy = 0;
for (let q = 0; q < pred.length; q++) if (pred[q] > 0) { n++; cx += q % image.width; cy += Math.floor(q / image.width); }
console.log(`mask: ${n} px${n ? `, centroid (${Math.round(cx / n)}, ${Math.round(cy / n)})` : ''}`);
if (maskPath) {
  const gt = await loadImage(maskPath);
  let I = 0, U = 0;
  for (let q = 0; q < pred.length; q++) { const a = pred[q] > 0 ? 1 : 0, b = gt.data[3 * q] > 127 ? 1 : 0; I += a & b; U += a | b; }
  console.log(`IoU vs ${maskPath}: ${(U ? I / U : 1).toFixed(3)}`);
}
m.dispose();
