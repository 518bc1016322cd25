/**
 * Image I/O, independent of tensors: decode the user's JPEG/PNG/BMP exactly as PIL does, resize as PIL (bicubic) and
 * OpenCV (bilinear) do, colour CAMs with OpenCV's JET and blend them as pytorch-grad-cam does, and write PNGs.
 * Everything is synchronous, dependency-free TypeScript that runs unchanged in Node and in browsers.
 */
export { type RgbImage, ImageDecodeError } from './types';
export { decodeImage, type DecodeImageOptions } from './decode';
export { decodeJpeg, type JpegDecodeOptions } from './jpeg';
export { decodePng, encodePng, type PngDecodeOptions } from './png';
export { decodeBmp, type BmpDecodeOptions } from './bmp';
export { resizeBicubicPil, resizeBilinearCv } from './resize';
export { applyColormapJet, jetColormap } from './colormap';
export { showCamOnImage, type ShowCamOptions } from './overlay';
