// How many webhooks a care team may have, and how long a rotated secret keeps signing, in a module
// of its own: the console's bundle imports it (the escalation policy's module brings zod with it).

/** A team has at most this many webhooks (a pager, an on-call tool, a chat channel, …). */
export const MAX_WEBHOOKS = 5;

/** How long a rotated webhook's secret before keeps signing unless the admin says otherwise: a day to switch the receiver over. */
export const DEFAULT_OVERLAP_HOURS = 24;
