// Small JPEG and PNG files built byte by byte, with the metadata a phone's photo carries (EXIF with
// a location, a comment; PNG text chunks), for the tests of message images. Structurally whole:
// segment and chunk lengths right (the PNG chunks' CRCs are not checked by what reads them here).

function segment(marker: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xff00 | marker, 0);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

export const JPEG_PARTS = {
  jfif: segment(0xe0, Buffer.from('JFIF\u0000\u0001\u0002\u0000\u0000\u0001\u0000\u0001\u0000\u0000', 'latin1')),
  exif: segment(0xe1, Buffer.from('Exif\u0000\u0000GPSLatitude 51.5007N GPSLongitude 0.1246W Make PhoneCo', 'latin1')),
  comment: segment(0xfe, Buffer.from('taken at 12 Home Street', 'latin1')),
  icc: segment(0xe2, Buffer.from('ICC_PROFILE\u0000\u0001\u0001colours', 'latin1')),
  quantization: segment(0xdb, Buffer.alloc(65, 1)),
  scan: Buffer.concat([segment(0xda, Buffer.from([1, 1, 0, 0, 0x3f, 0])), Buffer.from('entropy-coded pixels'), Buffer.from([0xff, 0xd9])]),
};

/** A JPEG with EXIF (a location), a comment, a colour profile, and pixels. */
export function jpegWithMetadata(): Buffer {
  const p = JPEG_PARTS;
  return Buffer.concat([Buffer.from([0xff, 0xd8]), p.jfif, p.exif, p.comment, p.icc, p.quantization, p.scan]);
}

/** The same without its metadata: what a message keeps. */
export function jpegStripped(): Buffer {
  const p = JPEG_PARTS;
  return Buffer.concat([Buffer.from([0xff, 0xd8]), p.jfif, p.icc, p.quantization, p.scan]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
}

export const PNG_PARTS = {
  signature: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  header: chunk('IHDR', Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0])),
  text: chunk('tEXt', Buffer.from('Location\u0000Home Street 12', 'latin1')),
  time: chunk('tIME', Buffer.from([7, 234, 12, 3, 20, 0, 0])),
  data: chunk('IDAT', Buffer.from('pixels')),
  end: chunk('IEND', Buffer.alloc(0)),
};

export function pngWithMetadata(): Buffer {
  const p = PNG_PARTS;
  return Buffer.concat([p.signature, p.header, p.text, p.time, p.data, p.end]);
}

export function pngStripped(): Buffer {
  const p = PNG_PARTS;
  return Buffer.concat([p.signature, p.header, p.data, p.end]);
}

/** A real PNG a browser draws: `size`×`size` pixels of one colour, with a text chunk naming a place (CRCs right). */
export async function drawablePng(size: number, rgb: [number, number, number]): Promise<Buffer> {
  const { crc32, deflateSync } = await import('node:zlib');
  const real = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3).map((_, index) => rgb[index % 3]!)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([PNG_PARTS.signature, real('IHDR', header), real('tEXt', Buffer.from('Location\u0000Home Street 12', 'latin1')), real('IDAT', pixels), real('IEND', Buffer.alloc(0))]);
}
