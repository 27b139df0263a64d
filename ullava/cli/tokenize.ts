// `ullava tokenize --tokenizer PATH [--bos]`: each stdin line is a JSON string; each output line is the
// JSON array of its ids. PATH: a tokenizer.model (plain SentencePiece), a directory with tokenizer.model
// and HF's added_tokens.json / special_tokens_map.json / tokenizer_config.json (special tokens in the
// text map to their ids, as HF's LlamaTokenizer), or a tokenizer.json.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { CliCommand } from './command.js';
import { UsageError } from './command.js';
import { loadTokenizer, type Tokenizer } from '../tokenizer/load.js';

const usage = `usage: ullava tokenize --tokenizer PATH [--bos] [--eos] [--special | --no-special]

Reads lines on stdin, each a JSON string, and prints for each one line with the JSON array of token ids.
  --tokenizer PATH  tokenizer.model, a directory holding it (with added_tokens.json etc.), or tokenizer.json
  --bos / --eos     prepend BOS (1) / append EOS (2)
  --special         match special/added tokens in the text (default for a directory or tokenizer.json)
  --no-special      plain SentencePiece: "</s>" in the text is just characters (default for a bare .model)`;

export async function tokenizeLines(tok: Tokenizer, input: Readable, output: Writable, opts: { bos?: boolean; eos?: boolean }): Promise<number> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0, buf = '';
  for await (const line of rl) {
    n++;
    if (line === '') { buf += '\n'; continue; } // blank line: nothing to tokenize, keep one output line per input line
    let s: unknown;
    try { s = JSON.parse(line); } catch { throw new Error(`line ${n}: not valid JSON`); }
    if (typeof s !== 'string') throw new Error(`line ${n}: expected a JSON string`);
    buf += JSON.stringify(tok.encode(s, opts)) + '\n';
    if (buf.length > 1 << 16) { if (!output.write(buf)) await new Promise((r) => output.once('drain', r)); buf = ''; }
  }
  if (buf) output.write(buf);
  return n;
}

export const tokenize: CliCommand = {
  name: 'tokenize',
  summary: 'tokenize JSON-string lines from stdin with a LLaMA tokenizer (ids as JSON arrays)',
  usage,
  async run(argv) {
    let path: string | undefined, bos = false, eos = false, special: boolean | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--tokenizer') { path = argv[++i]; if (!path) throw new UsageError('--tokenizer needs a path'); }
      else if (a.startsWith('--tokenizer=')) path = a.slice('--tokenizer='.length);
      else if (a === '--bos') bos = true;
      else if (a === '--eos') eos = true;
      else if (a === '--special') special = true;
      else if (a === '--no-special') special = false;
      else throw new UsageError(`unknown argument ${a}`);
    }
    if (!path) throw new UsageError('--tokenizer PATH is required');
    const tok = await loadTokenizer(path, { matchSpecial: special });
    await tokenizeLines(tok, process.stdin, process.stdout, { bos, eos });
    return 0;
  },
};
