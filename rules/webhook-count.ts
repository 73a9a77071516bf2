// How many webhooks a care team may have, in a module of its own: the console's bundle imports it
// (the escalation policy's module brings zod with it).

/** A team has at most this many webhooks (a pager, an on-call tool, a chat channel, …). */
export const MAX_WEBHOOKS = 5;
