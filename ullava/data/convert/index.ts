// The converters by source name: what `ullava data convert --from NAME` runs.
import type { ConvertOptions, ConvertResult } from './common.js';
import { convertRefer } from './refer.js';
import { convertLabelMaps } from './semantic.js';
import { convertParts } from './parts.js';
import { convertSalient } from './salient.js';
import { convertChat } from './chat.js';
import { convertTgif } from './tgif.js';

export { ConvertError, type ConvertOptions, type ConvertResult, type ManifestRecord, type Target } from './common.js';

export interface Converter { summary: string; run(opts: ConvertOptions): Promise<ConvertResult> }

export const CONVERTERS: Record<string, Converter> = {
  refcoco: { summary: 'RefCOCO (REFER: ROOT/refcoco/refs(unc|google).p + instances.json, ROOT/images/mscoco/images/train2014)', run: (o) => convertRefer('refcoco', o) },
  'refcoco+': { summary: 'RefCOCO+ (REFER, splitBy unc)', run: (o) => convertRefer('refcoco+', o) },
  refcocog: { summary: 'RefCOCOg (REFER, splitBy umd or google)', run: (o) => convertRefer('refcocog', o) },
  refclef: { summary: 'RefCLEF (REFER, splitBy unc or berkeley; ROOT/images/saiapr_tc-12)', run: (o) => convertRefer('refclef', o) },
  ade20k: { summary: 'ADE20K (ROOT/images/<split>/*.jpg + ROOT/annotations/<split>/*.png, split training)', run: (o) => convertLabelMaps('ade20k', o) },
  cocostuff: { summary: 'COCO-Stuff 164k (ROOT/images/<split>/*.jpg + ROOT/annotations/<split>/*.png, split train2017)', run: (o) => convertLabelMaps('cocostuff', o) },
  'pascal-part': { summary: 'PASCAL-Part VOC2010 (ROOT/vlpart/pascal_part/<split>.json, LISA\'s layout)', run: (o) => convertParts('pascal-part', o) },
  'paco-lvis': { summary: 'PACO-LVIS (ROOT/vlpart/paco/annotations/paco_lvis_v1_<split>.json, images ROOT/coco)', run: (o) => convertParts('paco-lvis', o) },
  msra: { summary: 'MSRA-10K / MSRA-B salient (ROOT holds X.jpg + X.png; or --annotations u-LLaVA\'s salient file)', run: (o) => convertSalient(o) },
  'llava-instruct': { summary: 'LLaVA-Instruct-150K (ROOT/llava_instruct_150k.json, images ROOT/train2017)', run: (o) => convertChat('llava-instruct', o) },
  cc3m: { summary: 'LLaVA-CC3M-Pretrain-595K (ROOT/chat.json, images ROOT/images)', run: (o) => convertChat('cc3m', o) },
  tgif: { summary: 'TGIF (ROOT/TGIF-v1.0.tsv + ROOT/gifs/, or --annotations u-LLaVA\'s JSON)', run: (o) => convertTgif(o) },
};
