// Images in messages (issue #26): JPEG or PNG, told by their bytes (never by a name or a declared
// type), at most 5 MB, with their metadata taken out before they are stored: a phone's photo
// carries where it was taken (EXIF GPS), when, and on what, which a care team does not need and a
// leak should not carry. What is removed: JPEG APP1 (EXIF, XMP), APP13 (IPTC) and comments; PNG
// text chunks (tEXt, zTXt, iTXt), eXIf and tIME. The pixels, and a JPEG's colour profile (APP2)
// and Adobe marker (APP14), are kept byte for byte. A structure that does not parse is refused.
// Without EXIF a photo's orientation tag goes too: phones that store pixels sideways and rely on
// the tag show such a photo turned (a known cost of stripping without re-encoding).

export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

export type ImageType = 'image/jpeg' | 'image/png';

export class ImageRefused extends Error {}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_DROPPED = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME']);
/** JPEG markers whose segments are metadata: APP1 (EXIF, XMP), APP13 (IPTC), COM. */
const JPEG_DROPPED = new Set([0xe1, 0xed, 0xfe]);

/** The image's type from its first bytes, or undefined. */
export function sniffImageType(bytes: Buffer): ImageType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  return undefined;
}

/** The image without its metadata, and its type; ImageRefused when it is not a whole JPEG or PNG within the limit. */
export function stripImage(bytes: Buffer): { type: ImageType; bytes: Buffer } {
  if (bytes.length > MAX_IMAGE_BYTES) throw new ImageRefused(`is ${(bytes.length / 1_048_576).toFixed(1)} MB; an image may be at most 5 MB`);
  const type = sniffImageType(bytes);
  if (type === 'image/jpeg') return { type, bytes: stripJpeg(bytes) };
  if (type === 'image/png') return { type, bytes: stripPng(bytes) };
  throw new ImageRefused('is not a JPEG or PNG image (told by its content)');
}

function stripJpeg(bytes: Buffer): Buffer {
  const kept: Buffer[] = [bytes.subarray(0, 2)];
  let offset = 2;
  for (;;) {
    // Fill bytes (0xFF) may pad between segments.
    while (offset < bytes.length && bytes[offset] === 0xff && bytes[offset + 1] === 0xff) offset += 1;
    if (offset + 4 > bytes.length || bytes[offset] !== 0xff) throw new ImageRefused('is not a whole JPEG image (a segment header is missing)');
    const marker = bytes[offset + 1]!;
    // Start of scan: the entropy-coded image and what follows it are kept as they are.
    if (marker === 0xda) {
      if (bytes.subarray(offset).indexOf(Buffer.from([0xff, 0xd9])) < 0) throw new ImageRefused('is not a whole JPEG image (it has no end)');
      kept.push(bytes.subarray(offset));
      return Buffer.concat(kept);
    }
    if (marker === 0xd9) throw new ImageRefused('is not a JPEG image with pixels (it ends before its image data)');
    const length = bytes.readUInt16BE(offset + 2);
    if (length < 2 || offset + 2 + length > bytes.length) throw new ImageRefused('is not a whole JPEG image (a segment runs past its end)');
    if (!JPEG_DROPPED.has(marker)) kept.push(bytes.subarray(offset, offset + 2 + length));
    offset += 2 + length;
  }
}

function stripPng(bytes: Buffer): Buffer {
  const kept: Buffer[] = [PNG_SIGNATURE];
  let offset = 8;
  let first = true;
  for (;;) {
    if (offset + 12 > bytes.length) throw new ImageRefused('is not a whole PNG image (a chunk is cut off)');
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > bytes.length || !/^[A-Za-z]{4}$/.test(type)) throw new ImageRefused('is not a whole PNG image (a chunk runs past its end)');
    if (first && type !== 'IHDR') throw new ImageRefused('is not a PNG image (it does not start with its header chunk)');
    first = false;
    if (!PNG_DROPPED.has(type)) kept.push(bytes.subarray(offset, end));
    offset = end;
    if (type === 'IEND') return Buffer.concat(kept);
  }
}
