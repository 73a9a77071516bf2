// Message images: told by their bytes, their metadata taken out, refused when not whole.
import { describe, expect, it } from '@jest/globals';
import { ImageRefused, MAX_IMAGE_BYTES, sniffImageType, stripImage } from '../../../dashboard-api/message-image.js';
import { JPEG_PARTS, jpegStripped, jpegWithMetadata, pngStripped, pngWithMetadata } from '../../support/images.js';

describe('stripImage', () => {
  it('takes EXIF (a location) and comments out of a JPEG, keeping its colour profile and pixels byte for byte', () => {
    const { type, bytes } = stripImage(jpegWithMetadata());
    expect(type).toBe('image/jpeg');
    expect(bytes.equals(jpegStripped())).toBe(true);
    expect(bytes.toString('latin1')).not.toMatch(/GPS|Home Street|PhoneCo/);
  });

  it('takes text and time chunks out of a PNG', () => {
    const { type, bytes } = stripImage(pngWithMetadata());
    expect(type).toBe('image/png');
    expect(bytes.equals(pngStripped())).toBe(true);
    expect(bytes.toString('latin1')).not.toMatch(/Home Street/);
  });

  it('tells the type by the bytes, not by a name: text, HTML and a GIF are refused', () => {
    expect(sniffImageType(Buffer.from('%PDF-1.7'))).toBeUndefined();
    expect(() => stripImage(Buffer.from('<svg onload="alert(1)"></svg>'))).toThrow(ImageRefused);
    expect(() => stripImage(Buffer.from('GIF89a......'))).toThrow(/not a JPEG or PNG image/);
  });

  it('refuses a JPEG or PNG that is cut off or malformed, and one over 5 MB', () => {
    const jpeg = jpegWithMetadata();
    expect(() => stripImage(jpeg.subarray(0, 40))).toThrow(/not a whole JPEG/);
    // A segment claiming more bytes than there are.
    const lying = Buffer.from(jpeg);
    lying.writeUInt16BE(0xfff0, 4);
    expect(() => stripImage(lying)).toThrow(/runs past its end/);
    expect(() => stripImage(Buffer.concat([Buffer.from([0xff, 0xd8]), JPEG_PARTS.jfif, Buffer.from([0xff, 0xd9])]))).toThrow(ImageRefused);
    const png = pngWithMetadata();
    expect(() => stripImage(png.subarray(0, png.length - 6))).toThrow(/not a whole PNG/);
    expect(() => stripImage(Buffer.concat([jpeg, Buffer.alloc(MAX_IMAGE_BYTES)]))).toThrow(/at most 5 MB/);
  });
});
