// `ullava segment --image F --prompt TEXT --out DIR`: referring-expression segmentation. Asks the RES
// prompt ("Output the segmentation mask of the TEXT in the image."), decodes the mask of every [SEG] of the
// answer at the image's original size, and writes the masks (0/255 PNG), an overlay and a JSON summary.
// `ullava ground` (ground.ts) runs the same with boxes as its result.
import { join } from 'node:path';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import {
  MODEL_OPTIONS, MODEL_USAGE, SAMPLING_OPTIONS, SAMPLING_USAGE, parseOptions, parseSampling, loadModel, stemOf,
  ensureDir, writeMasks, drawableBoxes, fmtBox, type WrittenMask,
} from './model-options.js';
import { UllavaSession } from '../session.js';
import { loadImage, writeOverlayPng, type Box } from '../media/index.js';
import { writeFileAtomic } from '../media/index.js';
import { FORCED_SEG_PREFIX, FORCED_SEG_LOC_PREFIX, segmentationQuestion } from '../chat/conversation.js';
import { maskArea, maskBox } from '../api/masks.js';

const OPTIONS = {
  ...MODEL_OPTIONS, ...SAMPLING_OPTIONS,
  image: { type: 'string' }, prompt: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
  'raw-prompt': { type: 'boolean' }, 'force-seg': { type: 'boolean' },
} as const;

function usageOf(mode: 'segment' | 'ground'): string {
  const head = mode === 'segment'
    ? `usage: ullava segment --image F --prompt TEXT [--out DIR] [--json] [--force-seg] [--raw-prompt] [--model DIR] [...]

Segments what TEXT refers to. Asks "Output the segmentation mask of the TEXT in the image." and decodes
the mask of every [SEG] token of the answer at the image's original size. Writes
  DIR/<stem>_mask_<i>.png   binary mask i (0/255 grayscale, the image's size)
  DIR/<stem>_overlay.png    the image with every mask tinted and its box drawn
  DIR/<stem>.json           {image, prompt, question, answer, tags, masks: [{file, area, box}], boxes, boxSource, timings}
Boxes are pixel x0, y0, x1, y1 (inclusive), from the model's [LOC] decoder when it has one, else from the masks.`
    : `usage: ullava ground --image F --prompt TEXT [--out DIR] [--json] [--force-seg] [--raw-prompt] [--model DIR] [...]

Locates what TEXT refers to with boxes in pixel x0, y0, x1, y1 (inclusive), printed one per line. The
published checkpoint has no box head, so its boxes are the boxes of its [SEG] masks (boxSource "mask");
a checkpoint with the [LOC] decoder gives boxSource "loc-decoder". Writes
  DIR/<stem>_ground.png     the image with the boxes drawn
  DIR/<stem>_ground.json    {image, prompt, question, answer, tags, boxes, boxSource, masks: [{area, box}], timings}`;
  return `${head}

  --image F          the image (PNG, JPEG, WebP, ...)
  --prompt TEXT      the referring expression, e.g. "the dog on the left"
  --out DIR          output directory (default ./ullava-out)
  --json             also print the JSON summary on stdout (and nothing else there)
  --raw-prompt       send TEXT as the question itself instead of the segmentation prompt
  --force-seg        make the answer start with "${FORCED_SEG_PREFIX}" ("${FORCED_SEG_LOC_PREFIX}" when the model
                     has the [LOC] decoder), so a mask is always decoded. The built-in model and real weights write [SEG]
                     themselves; a random test model needs it to produce a mask at all.
${MODEL_USAGE}
${SAMPLING_USAGE.replace('NDEF', '64')}
An answer without [SEG] is not an error: it is said, and the JSON has masks: [] (exit 0).`;
}

export interface LocateSummary {
  image: string;
  prompt: string;
  question: string;
  answer: string;
  tags: string[];
  masks: (WrittenMask | Omit<WrittenMask, 'file'>)[];
  boxes: (Box | null)[];
  boxSource: 'loc-decoder' | 'mask' | null;
  overlay: string;
  timings: { loadMs: number; imageMs: number; answerMs: number; timeToFirstTokenMs: number; tokens: number };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export async function runLocate(mode: 'segment' | 'ground', argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  if (values.image === undefined) throw new UsageError('--image F is required');
  if (values.prompt === undefined || values.prompt.trim() === '') throw new UsageError('--prompt TEXT is required (what to find, e.g. --prompt "the red square")');
  const sampling = parseSampling(values, 64);
  const out = values.out ?? 'ullava-out';
  const json = !!values.json;
  // Everything a user can get wrong is checked before the (slow) model load.
  const image = await loadImage(values.image);
  await ensureDir(out);
  const loaded = await loadModel(values);
  const session = new UllavaSession(loaded);
  try {
    const t1 = performance.now();
    session.setImage(image);
    const imageMs = performance.now() - t1;
    const question = values['raw-prompt'] ? values.prompt : segmentationQuestion(values.prompt);
    const hasLoc = !!loaded.model.detDecoder;
    const answerPrefix = values['force-seg'] ? (hasLoc ? FORCED_SEG_LOC_PREFIX : FORCED_SEG_PREFIX) : undefined;
    const answer = await session.ask(question, { ...sampling, answerPrefix });
    const stem = stemOf(values.image);
    let masks: LocateSummary['masks'], overlay: string, jsonPath: string;
    if (mode === 'segment') {
      ({ masks, overlay } = answer.masks.length
        ? await writeMasks(out, stem, image, answer)
        : { masks: [], overlay: '' });
      jsonPath = join(out, `${stem}.json`);
    } else {
      masks = answer.masks.map((m, i) => ({ area: maskArea(m), box: maskBox(answer, i, image) }));
      overlay = '';
      if (answer.boxes.length) {
        overlay = join(out, `${stem}_ground.png`);
        await writeOverlayPng(overlay, image, [], drawableBoxes(answer.boxes));
      }
      jsonPath = join(out, `${stem}_ground.json`);
    }
    const summary: LocateSummary = {
      image: values.image, prompt: values.prompt, question, answer: answer.text, tags: answer.tags, masks,
      boxes: answer.boxes, boxSource: answer.boxSource, overlay,
      timings: { loadMs: round(loaded.loadMs), imageMs: round(imageMs), answerMs: round(answer.totalMs),
        timeToFirstTokenMs: round(answer.timeToFirstTokenMs), tokens: answer.tokens },
    };
    const text = JSON.stringify(summary, null, 2) + '\n';
    await writeFileAtomic(jsonPath, new TextEncoder().encode(text));

    // Human-readable report: stdout normally, stderr under --json (stdout is then only the JSON).
    const say = (s: string) => (json ? process.stderr : process.stdout).write(s + '\n');
    // Control characters (a random model writes some) would garble the terminal line.
    say(`answer: ${answer.text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '\ufffd')}`);
    const what = mode === 'segment' ? answer.masks.length : answer.boxes.length;
    if (what === 0) {
      const hint = values['force-seg'] ? '' : loaded.demo
        ? ' The built-in model knows only the shapes world (shapes such as "the red square"); rephrase the prompt, or add --force-seg to make its answer start with "Sure. Info: [SEG]" and decode a mask.'
        : ' Rephrase the prompt, or add --force-seg to make the answer start with "Sure. Info: [SEG]".';
      say(`no ${mode === 'segment' ? 'mask' : 'box'}: the answer has no [SEG]${hasLoc ? ' or [LOC]' : ''} token.${hint}`);
    } else if (mode === 'segment') {
      (masks as WrittenMask[]).forEach((m, i) => say(`mask ${i}: ${m.file} (${m.area} px, box ${fmtBox(m.box)})`));
      say(`overlay: ${overlay}`);
    } else {
      say(`boxes (pixel x0, y0, x1, y1; from ${answer.boxSource === 'loc-decoder' ? 'the [LOC] decoder' : 'the masks'}):`);
      answer.boxes.forEach((b, i) => say(`box ${i}: ${fmtBox(b)}`));
      say(`overlay: ${overlay}`);
    }
    say(`json: ${jsonPath}`);
    if (json) process.stdout.write(text);
    return 0;
  } finally {
    session.dispose();
  }
}

export const segment: CliCommand = {
  name: 'segment',
  summary: 'segment what a sentence refers to in an image (masks as PNG, overlay, JSON)',
  usage: usageOf('segment'),
  run: (argv) => runLocate('segment', argv),
};

export { usageOf as locateUsage };
