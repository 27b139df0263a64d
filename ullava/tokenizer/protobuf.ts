// Just enough of the protobuf wire format to read a SentencePiece ModelProto: varints, fixed32/64 and
// length-delimited fields, walked field by field. Malformed input throws instead of reading out of bounds.

export class ProtoReader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) { this.pos = start; }

  get done(): boolean { return this.pos >= this.end; }

  varint(): number {
    let result = 0, shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
      if (shift > 70) throw new Error('protobuf: varint too long');
    }
  }

  /** A varint read as int32 (negative values are encoded in 10 bytes; only the low 32 bits count). */
  int32(): number {
    let low = 0, shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      if (shift < 32) low |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return low | 0;
      shift += 7;
      if (shift > 70) throw new Error('protobuf: varint too long');
    }
  }

  /** Next field: its number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t & 7 };
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error('protobuf: length-delimited field runs past the end');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  sub(): ProtoReader {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error('protobuf: message runs past the end');
    const r = new ProtoReader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  float32(): number {
    if (this.pos + 4 > this.end) throw new Error('protobuf: truncated fixed32');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0: this.varint(); return;
      case 1: this.pos += 8; break;
      case 2: this.bytes(); return;
      case 5: this.pos += 4; break;
      default: throw new Error(`protobuf: unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new Error('protobuf: truncated field');
  }
}
