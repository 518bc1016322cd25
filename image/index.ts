/**
 * Image utilities of the CAM layer: decode the user's JPEG/PNG exactly as PIL does, resize as PIL (bicubic) and
 * OpenCV (bilinear) do, colour CAMs with OpenCV's JET and blend them as pytorch-grad-cam does, and write PNGs.
 * Everything is synchronous, dependency-free TypeScript that runs unchanged in Node and in browsers.
 */
export { type RgbImage, ImageDecodeError } from './types';
export { decodeImage, type DecodeImageOptions } from './decode';
export { decodeJpeg, type JpegDecodeOptions } from './jpeg';
export { decodePng, encodePng, type PngDecodeOptions } from './png';
export { resizeBicubicPil, resizeBilinearCv } from './resize';
export { applyColormapJet, jetColormap, showCamOnImage, type ShowCamOptions } from './colormap';
