// WGSL shared by the GEMM kernels (tiled, GEMV, subgroup-matrix), which all use the same parameter block:
// [M, N, K, -, -, nBatch, offA, offB, sAm, sAk, sBk, sBn, biasOff, resOff, batchShape(R), stridesA(R), stridesB(R)].

/** Index of the first batch-shape word in the GEMM parameter block. */
const GEMM_BATCH_PARAMS_AT = 14;

/** `batchOffsets(b)`: element offsets of batch b's matrices in A and B (broadcast dims have stride 0). */
export function batchOffsetsWGSL(R: number, P0 = GEMM_BATCH_PARAMS_AT): string {
  return `fn batchOffsets(b0: u32) -> vec2<u32> {
  var b = b0;
  var o = vec2<u32>(P[6], P[7]);
  for (var d = ${R - 1}; d >= 0; d--) {
    let s = P[${P0}u + u32(d)];
    let i = b % s;
    b = b / s;
    o += i * vec2<u32>(P[${P0 + R}u + u32(d)], P[${P0 + 2 * R}u + u32(d)]);
  }
  return o;
}`;
}

/**
 * Opening statements of the tiled GEMM kernels (one workgroup per TM x TN output tile of one batch):
 * bind tilesN / tilesM (P[3], P[4]), `batch` (workgroups past P[5] batches exit), the tile's
 * `tileRow` / `tileCol` and its first output row and column `row0` / `col0`.
 */
export function batchTileWGSL(TM: number, TN: number): string {
  return `let tilesN = P[3]; let tilesM = P[4];
  let w = linearWorkgroup(wid, nwg);
  let perBatch = tilesN * tilesM;
  let batch = w / perBatch;
  if (batch >= P[5]) { return; }
  let tileRow = (w % perBatch) / tilesN; let tileCol = (w % perBatch) % tilesN;
  let row0 = tileRow * ${TM}u; let col0 = tileCol * ${TN}u;`;
}
