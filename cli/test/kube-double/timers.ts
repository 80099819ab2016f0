// Every timer the double starts, so stop() can clear them all and jest exits cleanly.
export class Timers {
  private readonly handles = new Set<NodeJS.Timeout>();

  after(ms: number, run: () => void): NodeJS.Timeout {
    const handle = setTimeout(
      () => {
        this.handles.delete(handle);
        run();
      },
      Math.max(0, ms),
    );
    this.handles.add(handle);
    return handle;
  }

  cancel(handle: NodeJS.Timeout | undefined): void {
    if (!handle) return;
    clearTimeout(handle);
    this.handles.delete(handle);
  }

  clear(): void {
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
  }
}
