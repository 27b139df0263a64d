// test/ullava/data/pickle.test.ts: the safe unpickler (ullava/data/pickle.ts) on REFER-shaped data at every
// protocol, on a Python 2 style pickle written byte by byte, and on hostile and damaged input.
import * as assert from 'uvu/assert';
import { test } from '../../harness/test.js';
import { unpickle, PickleError } from '../../../ullava/data/pickle.js';

// Written at authoring time by CPython 3 (pickle.dumps(v, protocol=p).hex()) for
//   v = [{'sent_ids': [0, 1], 'file_name': 'COCO_train2014_000000000009_1.jpg', 'ann_id': 1038967, 'ref_id': 0,
//         'image_id': 9, 'split': 'testA', 'sentences': [{'tokens': ['the', 'man'], 'raw': 'The man', 'sent_id': 0,
//         'sent': 'the man'}, {'tokens': ['café'], 'raw': 'café \u2603', 'sent_id': 1, 'sent': 'café'}],
//         'category_id': 1, 'x': (1.5, -2, 2**70, None, True, False, b'\x00\xff'), 's': {3},
//         'od': collections.OrderedDict([('a', 1)])}]
// Protocol 0 uses text opcodes (I01 for True, L...L longs, raw-unicode-escape), 1-2 bytes via _codecs.encode,
// 2 set via __builtin__.set + REDUCE, 4-5 FRAME / MEMOIZE / STACK_GLOBAL / EMPTY_SET + ADDITEMS.
const PY3: Record<number, string> = {
  0: [
    '286c70300a286470310a5673656e745f6964730a70320a286c70330a49300a6149310a61735666696c655f6e616d650a7034',
    '0a56434f434f5f747261696e323031345f3030303030303030303030395f312e6a70670a70350a7356616e6e5f69640a7036',
    '0a49313033383936370a73567265665f69640a70370a49300a7356696d6167655f69640a70380a49390a735673706c69740a',
    '70390a5674657374410a7031300a735673656e74656e6365730a7031310a286c7031320a28647031330a56746f6b656e730a',
    '7031340a286c7031350a567468650a7031360a61566d616e0a7031370a6173567261770a7031380a56546865206d616e0a70',
    '31390a735673656e745f69640a7032300a49300a735673656e740a7032310a56746865206d616e0a7032320a736128647032',
    '330a6731340a286c7032340a56636166e90a7032350a61736731380a56636166e9205c75323630330a7032360a736732300a',
    '49310a736732310a6732350a7361735663617465676f72795f69640a7032370a49310a7356780a7032380a2846312e350a49',
    '2d320a4c313138303539313632303731373431313330333432344c0a4e4930310a4930300a635f636f646563730a656e636f',
    '64650a7032390a28565c7530303030ff0a7033300a566c6174696e310a7033310a747033320a527033330a747033340a7356',
    '730a7033350a635f5f6275696c74696e5f5f0a7365740a7033360a28286c7033370a49330a61747033380a527033390a7356',
    '6f640a7034300a63636f6c6c656374696f6e730a4f726465726564446963740a7034310a2874527034320a56610a7034330a',
    '49310a7373612e',
  ].join(''),
  1: [
    '5d71007d710128580800000073656e745f69647371025d7103284b004b0165580900000066696c655f6e616d657104582100',
    '0000434f434f5f747261696e323031345f3030303030303030303030395f312e6a706771055806000000616e6e5f69647106',
    '4a77da0f0058060000007265665f696471074b005808000000696d6167655f696471084b09580500000073706c6974710958',
    '050000007465737441710a580900000073656e74656e636573710b5d710c287d710d285806000000746f6b656e73710e5d71',
    '0f285803000000746865711058030000006d616e711165580300000072617771125807000000546865206d616e7113580700',
    '000073656e745f696471144b00580400000073656e7471155807000000746865206d616e7116757d711728680e5d71185805',
    '000000636166c3a971196168125809000000636166c3a920e29883711a68144b01681568197565580b00000063617465676f',
    '72795f6964711b4b01580100000078711c28473ff80000000000004afeffffff4c3131383035393136323037313734313133',
    '30333432344c0a4e4930310a4930300a635f636f646563730a656e636f64650a711d28580300000000c3bf711e5806000000',
    '6c6174696e31711f7471205271217471225801000000737123635f5f6275696c74696e5f5f0a7365740a7124285d71254b03',
    '6174712652712758020000006f64712863636f6c6c656374696f6e730a4f726465726564446963740a71292952712a580100',
    '000061712b4b017375612e',
  ].join(''),
  2: [
    '80025d71007d710128580800000073656e745f69647371025d7103284b004b0165580900000066696c655f6e616d65710458',
    '21000000434f434f5f747261696e323031345f3030303030303030303030395f312e6a706771055806000000616e6e5f6964',
    '71064a77da0f0058060000007265665f696471074b005808000000696d6167655f696471084b09580500000073706c697471',
    '0958050000007465737441710a580900000073656e74656e636573710b5d710c287d710d285806000000746f6b656e73710e',
    '5d710f285803000000746865711058030000006d616e711165580300000072617771125807000000546865206d616e711358',
    '0700000073656e745f696471144b00580400000073656e7471155807000000746865206d616e7116757d711728680e5d7118',
    '5805000000636166c3a971196168125809000000636166c3a920e29883711a68144b01681568197565580b00000063617465',
    '676f72795f6964711b4b01580100000078711c28473ff80000000000004afeffffff8a090000000000000000404e8889635f',
    '636f646563730a656e636f64650a711d580300000000c3bf711e58060000006c6174696e31711f8671205271217471225801',
    '000000737123635f5f6275696c74696e5f5f0a7365740a71245d71254b036185712652712758020000006f64712863636f6c',
    '6c656374696f6e730a4f726465726564446963740a71292952712a580100000061712b4b017375612e',
  ].join(''),
  3: [
    '80035d71007d710128580800000073656e745f69647371025d7103284b004b0165580900000066696c655f6e616d65710458',
    '21000000434f434f5f747261696e323031345f3030303030303030303030395f312e6a706771055806000000616e6e5f6964',
    '71064a77da0f0058060000007265665f696471074b005808000000696d6167655f696471084b09580500000073706c697471',
    '0958050000007465737441710a580900000073656e74656e636573710b5d710c287d710d285806000000746f6b656e73710e',
    '5d710f285803000000746865711058030000006d616e711165580300000072617771125807000000546865206d616e711358',
    '0700000073656e745f696471144b00580400000073656e7471155807000000746865206d616e7116757d711728680e5d7118',
    '5805000000636166c3a971196168125809000000636166c3a920e29883711a68144b01681568197565580b00000063617465',
    '676f72795f6964711b4b01580100000078711c28473ff80000000000004afeffffff8a090000000000000000404e88894302',
    '00ff711d74711e580100000073711f636275696c74696e730a7365740a71205d71214b036185712252712358020000006f64',
    '712463636f6c6c656374696f6e730a4f726465726564446963740a71252952712658010000006171274b017375612e',
  ].join(''),
  4: [
    '80049571010000000000005d947d94288c0873656e745f696473945d94284b004b01658c0966696c655f6e616d65948c2143',
    '4f434f5f747261696e323031345f3030303030303030303030395f312e6a7067948c06616e6e5f6964944a77da0f008c0672',
    '65665f6964944b008c08696d6167655f6964944b098c0573706c6974948c057465737441948c0973656e74656e636573945d',
    '94287d94288c06746f6b656e73945d94288c03746865948c036d616e94658c03726177948c07546865206d616e948c077365',
    '6e745f6964944b008c0473656e74948c07746865206d616e94757d9428680e5d948c05636166c3a9946168128c09636166c3',
    'a920e298839468144b016815681975658c0b63617465676f72795f6964944b018c01789428473ff80000000000004afeffff',
    'ff8a090000000000000000404e8889430200ff9474948c0173948f94284b03908c026f64948c0b636f6c6c656374696f6e73',
    '948c0b4f726465726564446963749493942952948c0161944b017375612e',
  ].join(''),
  5: [
    '80059571010000000000005d947d94288c0873656e745f696473945d94284b004b01658c0966696c655f6e616d65948c2143',
    '4f434f5f747261696e323031345f3030303030303030303030395f312e6a7067948c06616e6e5f6964944a77da0f008c0672',
    '65665f6964944b008c08696d6167655f6964944b098c0573706c6974948c057465737441948c0973656e74656e636573945d',
    '94287d94288c06746f6b656e73945d94288c03746865948c036d616e94658c03726177948c07546865206d616e948c077365',
    '6e745f6964944b008c0473656e74948c07746865206d616e94757d9428680e5d948c05636166c3a9946168128c09636166c3',
    'a920e298839468144b016815681975658c0b63617465676f72795f6964944b018c01789428473ff80000000000004afeffff',
    'ff8a090000000000000000404e8889430200ff9474948c0173948f94284b03908c026f64948c0b636f6c6c656374696f6e73',
    '948c0b4f726465726564446963749493942952948c0161944b017375612e',
  ].join(''),
};

const sentences = [
  { tokens: ['the', 'man'], raw: 'The man', sent_id: 0, sent: 'the man' },
  { tokens: ['café'], raw: 'café \u2603', sent_id: 1, sent: 'café' },
];
const EXPECTED = [{
  sent_ids: [0, 1], file_name: 'COCO_train2014_000000000009_1.jpg', ann_id: 1038967, ref_id: 0, image_id: 9,
  split: 'testA', sentences, category_id: 1, x: [1.5, -2, 2n ** 70n, null, true, false, Uint8Array.from([0, 255])],
  s: new Set([3]), od: { a: 1 },
}];

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

for (const p of [0, 1, 2, 3, 4, 5]) {
  test(`protocol ${p}: REFER-shaped data (dicts, lists, tuples, unicode, big int, bytes, set, OrderedDict)`, () => {
    assert.equal(unpickle(hex(PY3[p]), { file: `p${p}.p` }), EXPECTED);
  });
}

/** A little writer of pickle opcodes, as Python 2's cPickle.dump(obj, f, 2) lays them out. */
class Py2Writer {
  bytes: number[] = [];
  op(c: string | number, ...args: number[]) { this.bytes.push(typeof c === 'string' ? c.charCodeAt(0) : c, ...args); return this; }
  shortStr(s: string) { this.op('U', s.length); for (const ch of s) this.bytes.push(ch.charCodeAt(0)); return this; }
  text(s: string) { for (const ch of s) this.bytes.push(ch.charCodeAt(0)); return this; }
  done() { return Uint8Array.from(this.bytes); }
}

test('Python 2 protocol 2: SHORT_BINSTRING keys and values (str), BINPUT / BINGET memo, SETITEMS with MARK', () => {
  // cPickle.dump([{'split': 'val', 'ref_id': 7, 'sentences': [{'sent': 'left dog'}], 'box': 'val'}], f, 2),
  // 'val' memoised and fetched again with BINGET.
  const w = new Py2Writer()
    .op(0x80, 2).op(']').op('q', 0).op('}').op('q', 1).op('(')
    .shortStr('split').op('q', 2).shortStr('val').op('q', 3)
    .shortStr('ref_id').op('K', 7)
    .shortStr('sentences').op(']').op('q', 4).op('}').shortStr('sent').shortStr('left dog').op('s').op('a')
    .shortStr('box').op('h', 3)
    .op('u').op('a').op('.');
  assert.equal(unpickle(w.done()), [{ split: 'val', ref_id: 7, sentences: [{ sent: 'left dog' }], box: 'val' }]);
  // py2Strings: 'bytes' keeps Python 2 str as bytes (keys too, so the dict becomes a Map)
  const m = (unpickle(w.done(), { py2Strings: 'bytes' }) as unknown[])[0] as Map<Uint8Array, unknown>;
  assert.ok(m instanceof Map, 'a Map with bytes keys');
  assert.equal([...m.keys()].map((k) => Buffer.from(k).toString()), ['split', 'ref_id', 'sentences', 'box']);
  assert.equal([...m.values()][0], Uint8Array.from(Buffer.from('val')));
});

test('Python 2 protocol 0: quoted STRING literals with escapes, INT, FLOAT, TUPLE, DICT', () => {
  const w = new Py2Writer().text("(dp0\nS'sent'\np1\nS'it\\'s a \\xe9 \\n dog'\np2\nsS'n'\nI-12\nsS'f'\nF0.25\nsS't'\n(I1\nNI00\ntp3\ns.");
  assert.equal(unpickle(w.done()), { sent: "it's a é \n dog", n: -12, f: 0.25, t: [1, null, false] });
});

test('non-string dict keys give a Map; tuple and int keys kept', () => {
  // {1: 'a', (2, 3): 'b'} at protocol 2, by hand
  const w = new Py2Writer().op(0x80, 2).op('}').op('(').op('K', 1).shortStr('a').op('K', 2).op('K', 3).op(0x86).shortStr('b').op('u').op('.');
  const m = unpickle(w.done()) as Map<unknown, unknown>;
  assert.ok(m instanceof Map, 'a Map');
  assert.equal([...m.entries()], [[1, 'a'], [[2, 3], 'b']]);
});

test('a key named __proto__ is an ordinary property, never the prototype', () => {
  const w = new Py2Writer().op(0x80, 2).op('}').shortStr('__proto__').op('K', 5).op('s').op('.');
  const o = unpickle(w.done()) as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(o), Object.prototype);
  assert.equal(Object.keys(o), ['__proto__']);
  assert.is(o['__proto__'], 5);
});

test('code is never run: GLOBAL os.system + REDUCE is refused with the opcode, the global and the offset', () => {
  // cos\nsystem\n(S'touch /tmp/pwned'\ntR.   (the classic protocol 0 exploit)
  const w = new Py2Writer().text("cos\nsystem\n(S'touch /tmp/pwned'\ntR.");
  assert.throws(() => unpickle(w.done(), { file: 'refs(unc).p' }), (e: Error) =>
    e instanceof PickleError && /refs\(unc\)\.p: GLOBAL names os\.system, which is not on the allow-list/.test(e.message) && /byte offset 0/.test(e.message));
  // protocol 4 STACK_GLOBAL of builtins.eval
  const w4 = new Py2Writer().op(0x80, 4).op(0x8c, 8).text('builtins').op(0x8c, 4).text('eval').op(0x93).op('.');
  assert.throws(() => unpickle(w4.done()), /STACK_GLOBAL names builtins\.eval.*byte offset 18/);
  // an allowed constructor cannot be used to call something else through BUILD / INST / OBJ / PERSID
  assert.throws(() => unpickle(new Py2Writer().text('(i__main__\nEvil\n.').done()), /INST creates an instance of __main__\.Evil/);
  assert.throws(() => unpickle(new Py2Writer().op(0x80, 2).shortStr('x').op('Q').op('.').done()), /BINPERSID asks for a persistent object.*byte offset 5/);
  assert.throws(() => unpickle(new Py2Writer().op(0x80, 2).op(0x82, 1).op('.').done()), /EXT1 names an extension-registry object/);
  assert.throws(() => unpickle(new Py2Writer().op(0x80, 2).op('}').op('}').shortStr('a').op('K', 1).op('s').op('b').op('.').done()), /BUILD sets the state of a dict/);
});

test('truncated and damaged pickles name the file and the byte offset', () => {
  const full = hex(PY3[2]);
  for (const cut of [1, 40, full.length - 1]) {
    assert.throws(() => unpickle(full.subarray(0, cut), { file: 'refs(unc).p' }), (e: Error) =>
      e instanceof PickleError && e.message.startsWith('refs(unc).p: truncated pickle') && /byte offset \d+/.test(e.message));
  }
  // a SHORT_BINUNICODE whose length runs past the end
  assert.throws(() => unpickle(Uint8Array.from([0x80, 4, 0x8c, 9, 0x61, 0x62]), { file: 'x.p' }),
    /x\.p: truncated pickle: SHORT_BINUNICODE needs 9 bytes at offset 4, the file has 2 left \(byte offset 2\)/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0xff]), { file: 'x.p' }), /x\.p: unknown pickle opcode 0xff.*byte offset 2/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x61, 0x2e])), /stack|APPEND/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x68, 7, 0x2e])), /memo entry 7 was never stored/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 9, 0x4e, 0x2e])), /protocol 9 is newer than 5/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x4e, 0x4e, 0x2e])), /STOP with 2 values on the stack/);
  assert.throws(() => unpickle(Buffer.from('{"not": "a pickle"}')), /unknown pickle opcode 0x7b|opcode/);
});

test('Python 2 str holding UTF-8 bytes: latin-1 by default (as Python 3 encoding="latin1"), UTF-8 with py2Strings "utf8"', () => {
  const cafe = [...Buffer.from('café', 'utf8')];
  const w = new Py2Writer().op(0x80, 2).op('U', cafe.length);
  w.bytes.push(...cafe);
  w.op('U', 2).op(0xe9).op(0x21).op(0x86).op('.'); // ('café', '\xe9!') -- the second is not UTF-8
  assert.equal(unpickle(w.done()), ['cafÃ©', 'é!']);
  assert.equal(unpickle(w.done(), { py2Strings: 'utf8' }), ['café', 'é!']);
});
