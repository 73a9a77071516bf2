// Preact with htm: components written as tagged templates, so the console needs no JSX transform.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
