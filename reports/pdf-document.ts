// What the platform's PDF reports share (the CGM report, the monthly monitoring report): US Letter,
// DejaVu Sans embedded (only the glyphs used), so that a patient's name prints in Latin with its
// accents (Łukasz, Şükrü, Nguyễn), Greek, Cyrillic or Hebrew; a character the font lacks (Chinese,
// Japanese, Korean) prints as "?" rather than as another glyph, and each report names the patient's
// id beside the name. pdfkit's standard fonts know Latin-1 only.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import PDFDocument from 'pdfkit';

export const PAGE = { width: 612, height: 792, margin: 40 } as const;
export const INK = '#1a1a1a';
export const MUTED = '#555555';

const require = createRequire(import.meta.url);
const FONT_DIRECTORY = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const FONTS = { regular: join(FONT_DIRECTORY, 'DejaVuSans.ttf'), bold: join(FONT_DIRECTORY, 'DejaVuSans-Bold.ttf') } as const;
// fontkit (pdfkit's own font reader) says which characters the font has; it ships no types.
const fontkit = require('fontkit') as { openSync(path: string): { hasGlyphForCodePoint(codePoint: number): boolean } };
let coverage: ReturnType<typeof fontkit.openSync> | undefined;

/** The text with what the font cannot draw (and control characters) as "?". */
export function printable(text: string): string {
  coverage ??= fontkit.openSync(FONTS.bold);
  const face = coverage;
  return [...text.normalize('NFC')].map((character) => (character >= ' ' && face.hasGlyphForCodePoint(character.codePointAt(0)!) ? character : '?')).join('');
}

/** A number as the reports print it: 1,234.5. */
export const number = (value: number, decimals = 1) => value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });

/**
 * A new report with the fonts registered as `regular` and `bold`; `finish` ends it and answers its
 * bytes.
 */
export function startReport(info: { title: string; subject: string; issued: string; bufferPages?: boolean }): { doc: PDFKit.PDFDocument; finish: () => Promise<Buffer> } {
  const doc = new PDFDocument({
    size: 'LETTER',
    margin: PAGE.margin,
    font: FONTS.regular,
    pdfVersion: '1.7',
    lang: 'en-US',
    displayTitle: true,
    // Kept until the end when asked, so that a footer can name each page's number of the whole.
    bufferPages: info.bufferPages ?? false,
    info: { Title: info.title, Author: 'RPM platform', Subject: info.subject, CreationDate: new Date(info.issued) },
  });
  doc.registerFont('regular', FONTS.regular);
  doc.registerFont('bold', FONTS.bold);
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  return {
    doc,
    finish: async () => {
      doc.end();
      await ended;
      return Buffer.concat(chunks);
    },
  };
}
