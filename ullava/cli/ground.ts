// `ullava ground --image F --prompt TEXT`: referring-expression grounding. Boxes in pixel x0, y0, x1, y1
// from the [LOC] decoder when the checkpoint has one, else from the [SEG] masks (the published weights);
// printed, drawn on the image, and saved as JSON. The options are segment's (segment.ts runs both).
import type { CliCommand } from './command.js';
import { runLocate, locateUsage } from './segment.js';

export const ground: CliCommand = {
  name: 'ground',
  summary: 'locate what a sentence refers to in an image with boxes (pixel xyxy, drawn, JSON)',
  usage: locateUsage('ground'),
  run: (argv) => runLocate('ground', argv),
};
