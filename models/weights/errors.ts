/**
 * Every problem found while reading a weight file (safetensors, zip, pickle, PyTorch checkpoint) is reported as a
 * `WeightsFormatError`, whose message names the file part (tensor key, zip entry, pickle byte offset) and what was
 * expected. Parsers never let a RangeError/TypeError from malformed input escape: those are bugs.
 */
export class WeightsFormatError extends Error {
  override name = 'WeightsFormatError';
}

/** Thrown by the unpickler when the input ends before STOP; callers reading a stream may retry with more bytes. */
export class PickleTruncatedError extends WeightsFormatError {
  override name = 'PickleTruncatedError';
}

export function fail(message: string): never {
  throw new WeightsFormatError(message);
}
