// Incremental detokenization for streaming generation: tokens go in one at a time and text comes out as
// soon as it is complete UTF-8. A character split over several <0xNN> byte tokens (emoji, CJK under byte
// fallback) is held back until its last byte arrives, so the stream never shows broken characters.

export interface TokenBytes {
  /** Bytes of one token; atStart: nothing has been output yet (drops SentencePiece's dummy-prefix space). */
  tokenBytes(id: number, atStart: boolean): Uint8Array;
  /** Control tokens (<s>, </s>) produce no text and leave the decoder "at start". */
  isControl(id: number): boolean;
  /** Added tokens: the text after them was encoded with its own dummy prefix, which decoding drops again. */
  isAdded?(id: number): boolean;
}

export class StreamDecoder {
  private dec = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private atStart = true;
  constructor(private tok: TokenBytes) {}

  /** Text completed by this token ('' while a multi-byte character is still incomplete). */
  push(id: number): string {
    const b = this.tok.tokenBytes(id, this.atStart);
    if (this.tok.isAdded?.(id)) this.atStart = true;
    else if (!this.tok.isControl(id)) this.atStart = false;
    return this.dec.decode(b, { stream: true });
  }

  /** Ends the stream: any incomplete trailing bytes become U+FFFD. */
  flush(): string {
    const s = this.dec.decode();
    this.dec = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    this.atStart = true;
    return s;
  }
}
