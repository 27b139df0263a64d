// The host-side image every media function exchanges: 8-bit RGB, 3 channels interleaved, rows top to
// bottom (the layout of PIL's Image.convert('RGB') as numpy sees it, [h, w, 3]). The CLIP
// preprocessor takes it as it is.

export interface RgbImage { width: number; height: number; data: Uint8Array }

/** Throws a RangeError unless `img` is a well-formed RgbImage (positive integer size, data of w*h*3 bytes). */
export function checkRgbImage(img: RgbImage, where: string): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`${where}: image size ${width} x ${height} is not a positive integer size`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new RangeError(`${where}: image data has ${data?.length} bytes, expected ${width} x ${height} x 3 = ${width * height * 3}`);
  }
}

/** Throws a RangeError unless a per-pixel mask of `length` values matches a width x height image. */
export function checkMaskSize(length: number, width: number, height: number, where: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`${where}: mask size ${width} x ${height} is not a positive integer size`);
  }
  if (length !== width * height) {
    throw new RangeError(`${where}: mask has ${length} values, expected ${width} x ${height} = ${width * height}`);
  }
}
