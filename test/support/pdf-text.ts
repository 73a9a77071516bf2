// A PDF's pages as the text a reader extracts (pdfjs-dist, Mozilla's PDF reader, not the library
// that wrote it), and its page count: what tests of a generated report check figures against.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

/** The metrics of the 14 standard fonts, which pdfjs reads from its package (never downloaded). */
const STANDARD_FONTS = `${join(dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'standard_fonts')}/`;

export async function pdfText(pdf: Uint8Array): Promise<{ pages: number; text: string; title: string | undefined }> {
  const document = await getDocument({ data: new Uint8Array(pdf), useSystemFonts: false, isEvalSupported: false, standardFontDataUrl: STANDARD_FONTS }).promise;
  try {
    const pages: string[] = [];
    for (let number = 1; number <= document.numPages; number += 1) {
      const content = await (await document.getPage(number)).getTextContent();
      pages.push(content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : ' ') : '')).join(''));
    }
    const { info } = (await document.getMetadata()) as { info: { Title?: string } };
    return { pages: document.numPages, text: pages.join('\n').replace(/[ \t]+/g, ' '), title: info.Title };
  } finally {
    await document.destroy();
  }
}
