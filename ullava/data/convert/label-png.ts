// Reads a label-map PNG for the converters (one class index per pixel: ADE20K's and COCO-Stuff's 8-bit
// grayscale annotations, or a palette PNG's indices) through the manifest's label-map decoder
// (ullava/data/label-png.ts), and lists the values present. RGB label maps are refused there.
import { decodeLabelPng, LabelPngError } from '../label-png.js';
import { ConvertError, readBytes } from './common.js';

export interface LabelMap { width: number; height: number; values: Uint16Array }

export async function readLabelPng(path: string, record: string): Promise<LabelMap> {
  const bytes = await readBytes(path, 'label PNG');
  try {
    const m = decodeLabelPng(bytes, `label map ${path}`);
    return { width: m.width, height: m.height, values: m.labels };
  } catch (e) {
    if (e instanceof LabelPngError) throw new ConvertError(`${record}: ${e.message}`);
    throw e;
  }
}

/** The distinct values of a label map, ascending. */
export function presentValues(values: Uint16Array): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}
