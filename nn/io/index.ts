// Checkpoint formats (the package's `ullava-ts/nn/io`): safetensors and PyTorch (.bin / .pt zip and
// legacy pickles) read tensor by tensor from their headers, shard indexes, loading into a Module, writing
// safetensors (sharded or not) and converting between the formats. The parsers (pickle, zip, byte
// sources, host dtype conversion) are plumbing and stay internal.
export { openCheckpoint, openCheckpointFile, readShardIndex, ShardedReader, type ShardIndex } from './checkpoint.js';
export type { CheckpointReader } from './reader.js';
export { SafetensorsReader, writeSafetensors, type TensorToWrite } from './safetensors.js';
export { TorchReader } from './torch.js';
export { CheckpointFormatError, type SourceDType, type TensorInfo } from './dtypes.js';
export { loadModuleWeights, type LoadModuleOptions } from './load-module.js';
export { loadCheckpoint, loadTensors, type LoadOptions } from './load.js';
export { convertCheckpoint, writeShardedSafetensors, DEFAULT_SHARD_BYTES, type ConvertOptions } from './convert.js';
