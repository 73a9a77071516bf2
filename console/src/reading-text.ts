// Kinds, codes and values as sent, in words, are shared with the platform's PDF reports.
export { asSent, capitalized, kindText, words } from '../../device-profiles/kind-words.js';
