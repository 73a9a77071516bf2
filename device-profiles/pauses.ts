// Pauses between retries or polls that can all be ended at once: stopping must not wait for them (an
// ingest loop waiting 30 s for an unreachable store must not hold a shutdown for 30 s), and the
// gateway ends them to try its devices now. Here, beside the other basics every module shares,
// because the gateway depends on nothing else.
export class Pauses {
  private readonly ends = new Set<() => void>();

  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.ends.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.ends.add(end);
    });
  }

  endAll(): void {
    for (const end of [...this.ends]) end();
  }
}
