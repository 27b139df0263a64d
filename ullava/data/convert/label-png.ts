// Reads a label-map PNG (one class index per pixel, 8-bit grayscale, as ADE20K's and COCO-Stuff's
// annotations are stored) and lists the values present. A palette or RGB PNG would decode to colours, not
// class indices, so those are refused rather than misread.
import { decodePng, isPng } from '../../media/png.js';
import { ConvertError, readBytes } from './common.js';

export interface LabelMap { width: number; height: number; values: Uint8Array }

export async function readLabelPng(path: string, record: string): Promise<LabelMap> {
  const bytes = await readBytes(path, 'label PNG');
  if (!isPng(bytes) || bytes.length < 33) throw new ConvertError(`${record}: label map ${path} is not a PNG file`);
  const bitDepth = bytes[24], colorType = bytes[25];
  if (colorType !== 0 || bitDepth !== 8) {
    throw new ConvertError(`${record}: label map ${path} is a ${colorType === 3 ? 'palette' : colorType === 2 ? 'RGB' : `colour type ${colorType}`} PNG of ${bitDepth}-bit samples; ` +
      'class-index maps must be 8-bit grayscale (one class index per pixel), as ADE20K and COCO-Stuff publish them');
  }
  let img;
  try { img = decodePng(bytes, path, 256 * 1024 * 1024); } catch (e) { throw new ConvertError(`${record}: ${(e as Error).message}`); }
  const values = new Uint8Array(img.width * img.height);
  for (let i = 0; i < values.length; i++) values[i] = img.data[i * 3]; // gray is replicated to R, G, B
  return { width: img.width, height: img.height, values };
}

/** The distinct values of a label map, ascending. */
export function presentValues(values: Uint8Array): number[] {
  const seen = new Uint8Array(256);
  for (let i = 0; i < values.length; i++) seen[values[i]] = 1;
  const out: number[] = [];
  for (let v = 0; v < 256; v++) if (seen[v]) out.push(v);
  return out;
}
