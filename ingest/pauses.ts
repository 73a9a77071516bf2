// The ingest loops' pauses between retries, which stopping ends at once (a loop waiting 30 s for an
// unreachable store must not hold a shutdown for 30 s).
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
