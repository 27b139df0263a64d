// One training sample prepared on the host: the collator of ullava/data/collate.ts (template, labels,
// truncation, media, masks, boxes), re-exported under the trainer's names.
export { prepareExample, IGNORE_INDEX, type PreparedExample, type PrepareOptions } from '../data/collate.js';
export { tokenizeConversation } from '../data/collate-tokens.js';
