// A page fetches one thing again whenever it hears it changed (a live stream, its own change): the
// answers can come back in another order than they were asked (a slow query, a busy server), and
// an older answer applied last shows the past: the nurse's "Read by" replaced by the Mark as read
// she had just pressed. Only the answer to the latest question is applied (latestOnly); an effect's
// answers only while its inputs are still the page's (whileCurrent: 7 days' readings under "90 days").

/** Applies each answer only if no later one was asked for since. */
export function latestOnly(): <T>(answer: Promise<T>, apply: (value: T) => void, fail: (failure: Error) => void) => Promise<void> {
  let asked = 0;
  return (answer, apply, fail) => {
    asked += 1;
    const mine = asked;
    return answer.then(
      (value) => {
        if (mine === asked) apply(value);
      },
      (failure: Error) => {
        if (mine === asked) fail(failure);
      },
    );
  };
}

/**
 * Guards an effect's answers: `answer(handler)` runs the handler only while the effect is current;
 * `answer.stale`, returned as the effect's cleanup, retires it when its inputs change.
 */
export function whileCurrent(): (<T>(handler: (value: T) => void) => (value: T) => void) & { stale: () => void } {
  let current = true;
  const answer = <T,>(handler: (value: T) => void) => (value: T) => {
    if (current) handler(value);
  };
  return Object.assign(answer, { stale: () => void (current = false) });
}
