// `ullava chat`: an interactive, multi-turn conversation about an image, a video or nothing, with the
// answer streamed as it is generated. On a terminal it prompts; with stdin from a pipe or a file it reads
// one question (or command) per line and prints each answer followed by a newline, so it is scriptable.
// Masks of answers with [SEG] are written to --out.
import { createInterface } from 'node:readline';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import {
  MODEL_OPTIONS, MODEL_USAGE, SAMPLING_OPTIONS, SAMPLING_USAGE, parseOptions, parseSampling, parseNumber, loadModel,
  stemOf, writeMasks, fmtBox, type WrittenMask,
} from './model-options.js';
import { UllavaSession } from '../session.js';
import { loadImage, loadVideoFrames, type RgbImage } from '../media/index.js';

const usage = `usage: ullava chat [--image F | --video F] [--model DIR] [--out DIR] [--json-lines] [sampling options]

Chats with u-LLaVA about an image, a video or nothing. Answers stream as they are generated; the
history is kept (multi-turn) until /reset or new media. Commands, typed instead of a question:
  /reset       forget the history (keep the image or video)
  /image F     a new image (starts a new conversation)
  /video F     a new video (starts a new conversation)
  /help        these commands
  /quit        leave (so does end of input, Ctrl-D)
When stdin is not a terminal, every line is one question or command, and every answer is printed
followed by a newline (notices go to stderr). Masks of answers containing [SEG] are written to --out as
<stem>_<n>_mask_<i>.png and <stem>_<n>_overlay.png.
  --image F          start with this image
  --video F          start with this video (cannot be combined with --image)
  --frames N         frames sampled from a video (default 8)
  --out DIR          where masks go (default ./ullava-out)
  --answer-prefix T  every answer starts with T and continues from it, e.g. "Sure. Info: [SEG]" to always
                     get a mask (a random test model writes [SEG] only so)
  --json-lines       print each answer as one JSON line {turn, history, question, answer, tags, masks, boxes,
                     boxSource, finishReason, tokens} (history = messages before the question) and each
                     command's effect as {command, ...}; for scripts and tests
${MODEL_USAGE}
${SAMPLING_USAGE.replace('NDEF', '512')}`;

const HELP = '/reset  forget the history | /image F  new image | /video F  new video | /help | /quit';

export const chat: CliCommand = {
  name: 'chat',
  summary: 'interactive multi-turn chat about an image or a video, streamed, with masks for [SEG]',
  usage,
  async run(argv) {
    const { values } = parseOptions(argv, {
      ...MODEL_OPTIONS, ...SAMPLING_OPTIONS,
      image: { type: 'string' }, video: { type: 'string' }, frames: { type: 'string' }, out: { type: 'string' },
      'json-lines': { type: 'boolean' }, 'answer-prefix': { type: 'string' },
    });
    if (values.image !== undefined && values.video !== undefined) throw new UsageError('--image and --video cannot be used together: chat is about one image or one video');
    const sampling = parseSampling(values, 512);
    const frames = parseNumber('frames', values.frames, { integer: true, min: 1 }) ?? 8;
    const out = values.out ?? 'ullava-out';
    const jsonLines = !!values['json-lines'];
    const tty = !!process.stdin.isTTY && !jsonLines;

    // Media first: a wrong path fails before the model load.
    type Current = { kind: 'image'; image: RgbImage; stem: string } | { kind: 'video'; stem: string } | null;
    type Media = { path: string; image: RgbImage } | { path: string; frames: RgbImage[] };
    const readMedia = async (kind: 'image' | 'video', path: string): Promise<Media> => kind === 'image'
      ? { path, image: await loadImage(path) }
      : { path, frames: (await loadVideoFrames(path, { frames, mode: 'uniform' })).frames };
    const initial = values.image !== undefined ? await readMedia('image', values.image)
      : values.video !== undefined ? await readMedia('video', values.video) : null;

    const loaded = await loadModel(values);
    const session = new UllavaSession(loaded);
    let current: Current = null;
    const use = (m: Media) => {
      if ('image' in m) { session.setImage(m.image); current = { kind: 'image', image: m.image, stem: stemOf(m.path) }; }
      else { session.setVideo(m.frames); current = { kind: 'video', stem: stemOf(m.path) }; }
    };
    if (initial) use(initial);

    // Output: answers on stdout; notices on stdout on a terminal, else stderr (stdout stays answers only).
    const notice = (s: string) => (tty ? process.stdout : process.stderr).write(s + '\n');
    const event = (o: Record<string, unknown>) => { if (jsonLines) process.stdout.write(JSON.stringify(o) + '\n'); };
    let turn = 0, answered = 0, failures = 0, quit = false;

    const rl = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
    if (tty) {
      // Ctrl-C leaves at once, also mid-answer (readline would otherwise just pause the input).
      rl.on('SIGINT', () => { process.stdout.write('\n'); process.exit(130); });
      const what = current ? `the ${(current as { kind: string }).kind} ${values.image ?? values.video}` : 'no image (use /image F)';
      notice(`u-LLaVA chat about ${what}. ${HELP}`);
      rl.setPrompt('USER: ');
      rl.prompt();
    }
    try {
      for await (const raw of rl) {
        const line = raw.trim();
        try {
          if (line === '') continue;
          if (line.startsWith('/')) {
            const cmd = line.split(/\s+/)[0];
            const arg = line.slice(cmd.length).trim();
            if (cmd === '/quit' || cmd === '/exit') { quit = true; break; }
            if (cmd === '/help') { notice(HELP); continue; }
            if (cmd === '/reset') {
              session.reset(); turn = 0;
              notice('history cleared'); event({ command: '/reset' });
              continue;
            }
            if (cmd === '/image' || cmd === '/video') {
              if (!arg) { notice(`usage: ${cmd} FILE`); failures++; continue; }
              const kind = cmd === '/image' ? 'image' : 'video';
              use(await readMedia(kind, arg)); turn = 0;
              notice(`new conversation about the ${kind} ${arg}`); event({ command: cmd, path: arg });
              continue;
            }
            notice(`unknown command ${cmd}; ${HELP}`); failures++;
            continue;
          }
          const history = session.conversation.turns;
          if (tty) process.stdout.write('ASSISTANT: ');
          const answer = await session.ask(line, { ...sampling, answerPrefix: values['answer-prefix'], onText: jsonLines ? undefined : (s) => process.stdout.write(s) });
          turn++;
          if (!jsonLines) process.stdout.write('\n');
          let masks: WrittenMask[] = [], overlay: string | null = null;
          const cur = current as Current;
          if (answer.masks.length && cur?.kind === 'image') {
            answered++;
            ({ masks, overlay } = await writeMasks(out, `${cur.stem}_${answered}`, cur.image, answer));
            if (!jsonLines) notice(`${masks.length} mask${masks.length > 1 ? 's' : ''} written: ${masks.map((m) => `${m.file} (box ${fmtBox(m.box)})`).join(', ')}; overlay ${overlay}`);
          }
          event({ turn, history, question: line, answer: answer.text, tags: answer.tags, masks, overlay, boxes: answer.boxes,
            boxSource: answer.boxSource, finishReason: answer.finishReason, tokens: answer.tokens });
        } catch (e) {
          if (e instanceof Error && process.env.ULLAVA_DEBUG) console.error(e.stack);
          notice(`error: ${(e as Error)?.message ?? e}`);
          event({ error: (e as Error)?.message ?? String(e) });
          failures++;
        } finally {
          if (tty && !quit) rl.prompt();
        }
      }
    } finally {
      rl.close();
      session.dispose();
    }
    if (tty) process.stdout.write('\n');
    // On a terminal a failed line was already answered with its error; from a script it must be visible.
    return !tty && failures ? 1 : 0;
  },
};
