// Weight file formats: safetensors, PyTorch checkpoints (zip + legacy), with the zip reader and safe unpickler
// they are built on. Everything works on in-memory bytes in any runtime; `read*File` helpers need Node and
// `blobSource()` reads browser Files by ranges.
export { WeightsFormatError, PickleTruncatedError } from './errors';
export {
  type RawTensor, type RawFloat32Tensor, type RawInt32Tensor, type RawInt64Tensor, type RawBoolTensor,
  type RawDType, type RawData, type StorageDType, type DecodeOptions,
  STORAGE_DTYPES, STORAGE_DTYPE_SIZE, decodeElements, encodeElements, halfToFloat, shapeNumel,
} from './raw';
export {
  type RangeSource, type ReadRequest, type Reader, bytesSource, blobSource, openFileSource, runAsync, runSync,
} from './source';
export {
  type SafetensorsEntry, type SafetensorsHeader, type SafetensorsOptions, type SafetensorsFile,
  MAX_SAFETENSORS_HEADER_BYTES, parseSafetensors, parseSafetensorsHeader, readSafetensorsHeader,
  readSafetensorsFromSource, readSafetensorsFile, serializeSafetensors,
} from './safetensors';
export {
  type ZipEntry, type ZipReadOptions, type AsyncZip, ZipArchive, openZip, openZipFile, zipDirectoryReader, zipEntryReader,
} from './zip';
export { crc32, inflateRaw } from './inflate';
export {
  type UnpickleOptions, type UnpickleResult, PyGlobal, PyStub, TorchStorageRef, TorchTensorRef,
  MAX_LONG_BYTES, PY_ATTRIBUTES, isAllowedGlobal, pyAttributes, torchPersistentLoad, unpickle,
} from './unpickle';
export {
  type TorchLoadOptions, type TorchCheckpoint, MAX_HIGHLY_COMPRESSED_BYTES, MAX_INFLATION_RATIO, parseTorchCheckpoint, parseTorchCheckpointFull,
  readTorchCheckpointFromSource, readTorchCheckpointFile, readTorchCheckpointFileFull,
} from './pth';
