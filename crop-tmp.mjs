import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
const [file, y, h, out, w] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const p = await b.newPage({ viewport: { width: Number(w ?? 1280), height: Number(h) } });
await p.setContent(`<body style="margin:0"><img style="position:absolute;top:-${y}px;left:0" src="data:image/png;base64,${readFileSync(file).toString('base64')}"></body>`);
await p.screenshot({ path: out });
await b.close();
