// `ullava caption --video F`: describes a video. Samples --frames frames uniformly (u-LLaVA's evaluation
// sampling; 8 as trained), encodes them as u-LLaVA's 264 video tokens (temporal + spatial pooling of CLIP
// features), asks the prompt and streams the answer to stdout.
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import {
  MODEL_OPTIONS, MODEL_USAGE, SAMPLING_OPTIONS, SAMPLING_USAGE, parseOptions, parseSampling, parseNumber, loadModel,
} from './model-options.js';
import { UllavaSession } from '../session.js';
import { loadVideoFrames } from '../media/index.js';
import { DEFAULT_CAPTION_PROMPT } from '../chat/conversation.js';

const usage = `usage: ullava caption --video F [--prompt TEXT] [--frames N] [--json] [--model DIR] [...]

Describes a video (mp4, webm, avi, mkv, animated GIF, ...): samples N frames uniformly, asks TEXT
and streams the answer to stdout.
  --video F          the video
  --prompt TEXT      the question (default "${DEFAULT_CAPTION_PROMPT}")
  --frames N         frames sampled (default 8, as u-LLaVA was trained; short videos repeat frames)
  --json             print one JSON object {video, prompt, answer, frames: {indices, timestamps, total}, timings}
                     instead of streaming the text
${MODEL_USAGE}
${SAMPLING_USAGE.replace('NDEF', '256')}`;

const round = (ms: number) => Math.round(ms * 10) / 10;

export const caption: CliCommand = {
  name: 'caption',
  summary: 'describe a video (frames sampled uniformly, streamed answer)',
  usage,
  async run(argv) {
    const { values } = parseOptions(argv, {
      ...MODEL_OPTIONS, ...SAMPLING_OPTIONS,
      video: { type: 'string' }, prompt: { type: 'string' }, frames: { type: 'string' }, json: { type: 'boolean' },
    });
    if (values.video === undefined) throw new UsageError('--video F is required');
    const prompt = values.prompt ?? DEFAULT_CAPTION_PROMPT;
    if (prompt.trim() === '') throw new UsageError('--prompt is empty');
    const frames = parseNumber('frames', values.frames, { integer: true, min: 1 }) ?? 8;
    const sampling = parseSampling(values, 256);
    const video = await loadVideoFrames(values.video, { frames, mode: 'uniform' });
    const loaded = await loadModel(values);
    const session = new UllavaSession(loaded);
    try {
      const t1 = performance.now();
      session.setVideo(video.frames);
      const videoMs = performance.now() - t1;
      const answer = await session.ask(prompt, {
        ...sampling, onText: values.json ? undefined : (s) => process.stdout.write(s),
      });
      if (values.json) {
        process.stdout.write(JSON.stringify({
          video: values.video, prompt, answer: answer.text, finishReason: answer.finishReason,
          frames: { indices: video.indices, timestamps: video.timestamps, total: video.totalFrames, fps: video.fps },
          timings: { loadMs: round(loaded.loadMs), videoMs: round(videoMs), answerMs: round(answer.totalMs),
            timeToFirstTokenMs: round(answer.timeToFirstTokenMs), tokens: answer.tokens },
        }, null, 2) + '\n');
      } else process.stdout.write('\n');
      return 0;
    } finally {
      session.dispose();
    }
  },
};
