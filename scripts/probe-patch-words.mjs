// How well a model's CLIP-style tower names what is on each patch (what the recipe's vision stage teaches,
// ullava/train/patch-word-forward.ts): on a manifest's image lines with "objects", each projected patch is
// scored against the word embeddings of every word of the manifest; per group of words (the objects'
// categories, then each attribute position: in the shapes world colour and size), the share of named patches
// whose best word of that group is right, and object-versus-background. Chance is 1 / (words in the group).
// Usage: node scripts/probe-patch-words.mjs MODEL_DIR MANIFEST OUT.json [N images, default 200]
import { writeFileSync } from 'node:fs';
import { loadUllava } from '../dist/ullava/models/ullava/load.js';
import { readManifest } from '../dist/ullava/train/sample.js';
import { prepareExample, wordToken } from '../dist/ullava/data/collate.js';
import { BACKGROUND_WORD } from '../dist/ullava/data/patch-words.js';
import { Tensor, linear, indexSelect, noGrad } from '../dist/engine/index.js';

const [modelDir, manifest, out, n = '200'] = process.argv.slice(2);
if (!modelDir || !manifest || !out) throw new Error('usage: node scripts/probe-patch-words.mjs MODEL_DIR MANIFEST OUT.json [N]');
const { model, tokenizer, config } = await loadUllava(modelDir);
const records = (await readManifest(manifest)).filter((r) => r.image && r.objects.length).slice(0, Number(n));
if (!records.length) throw new Error(`${manifest}: no image line with "objects" (write one with ullava data shapes)`);
const token = (w) => wordToken(tokenizer, w);
// Groups: the categories, then the words at each attribute position.
const groups = { category: new Set() };
for (const r of records) for (const o of r.objects) {
  groups.category.add(o.category);
  o.attributes.forEach((a, i) => (groups[`attribute ${i}`] ??= new Set()).add(a));
}
const words = [...new Set([...Object.values(groups).flatMap((g) => [...g]), BACKGROUND_WORD])];
const ids = words.map(token), bg = token(BACKGROUND_WORD);
const column = new Map(ids.map((id, k) => [id, k]));
const groupIds = Object.entries(groups).map(([g, set]) => [g, [...set].map(token)]);
const S = config.vision.imageSize, per = 3 * S * S;
const tally = {};
const count = (k, ok) => { const t = (tally[k] ??= { right: 0, of: 0 }); t.right += ok ? 1 : 0; t.of++; };
for (let i = 0; i < records.length; i += 32) {
  const batch = await Promise.all(records.slice(i, i + 32).map((r) => prepareExample(r, { tokenizer, config, maxLength: 1024, patchWords: true })));
  const px = new Float32Array(batch.length * per);
  batch.forEach((e, j) => px.set(e.clipPixels, j * per));
  const logits = noGrad(() => linear(model.encodeImages(Tensor.from(px, [batch.length, 3, S, S])),
    indexSelect(model.lm.model.embed_tokens.weight, 0, Tensor.fromHost(Int32Array.from(ids), [ids.length], 'i32'))));
  const L = await logits.toArray();
  logits.dispose();
  const N = batch[0].patchWords.length, K = ids.length;
  batch.forEach((e, b) => e.patchWords.forEach((named, p) => {
    if (!named.length) return;
    const score = (id) => L[(b * N + p) * K + column.get(id)];
    const isBackground = named.length === 1 && named[0] === bg;
    const bestObjectWord = Math.max(...ids.filter((id) => id !== bg).map(score));
    count(isBackground ? 'background' : 'object', isBackground ? score(bg) > bestObjectWord : bestObjectWord > score(bg));
    if (isBackground) return;
    for (const [g, gi] of groupIds) {
      count(g, named.includes(gi.reduce((a, t) => (score(t) > score(a) ? t : a), gi[0])));
    }
  }));
}
const report = { model: modelDir, manifest, images: records.length,
  groups: Object.fromEntries(Object.entries(groups).map(([g, s]) => [g, [...s]])),
  accuracy: Object.fromEntries(Object.entries(tally).map(([k, t]) => [k, { value: +(t.right / t.of).toFixed(4), patches: t.of,
    chance: k in groups ? +(1 / groups[k].size).toFixed(4) : null }])) };
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
for (const [k, a] of Object.entries(report.accuracy)) console.log(`${k.padEnd(12)} ${a.value.toFixed(3)} of ${a.patches} patches${a.chance ? ` (chance ${a.chance.toFixed(3)})` : ''}`);
process.exit(0);
