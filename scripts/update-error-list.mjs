// Writes the README's list of error codes and docs/errors.md from the modules' tables (npm run docs:errors).
import { readFileSync, writeFileSync } from 'node:fs';
import { README_MARKERS, errorsPage, readmeErrorList } from '../dist/bin/error-list.js';

const readme = readFileSync('README.md', 'utf8');
const start = readme.indexOf(README_MARKERS.start);
const end = readme.indexOf(README_MARKERS.end);
if (start < 0 || end < start) throw new Error(`README.md has no ${README_MARKERS.start} … ${README_MARKERS.end} block`);
writeFileSync('README.md', `${readme.slice(0, start + README_MARKERS.start.length)}\n${readmeErrorList()}\n${readme.slice(end)}`);
writeFileSync('docs/errors.md', errorsPage());
console.log('README.md and docs/errors.md updated');
