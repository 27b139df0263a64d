// The trainer's view of the data manifest: version 1 (ullava/data/manifest*.ts) reads every v0 line too.
// TrainingSample is the v0 name of a manifest record.
export {
  ManifestError, type ManifestRecord as TrainingSample, type ConversationTurn, type CocoRle, type MaskSource,
} from '../data/manifest-types.js';
export { readManifest } from '../data/manifest.js';
export { decodeRle, rleCountsFromString } from '../data/mask-decode.js';
