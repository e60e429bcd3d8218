/**
 * The offsets one partition's batch has taken, in order, and which of them are done. Only the contiguous done prefix
 * is resolved: an offset is committed once every earlier offset of the batch is done, so after a crash or rebalance
 * the group re-reads everything not yet handed over and skips nothing. Pure: no Kafka, no clock.
 */
export class OffsetWindow {
  private readonly entries: { offset: string; done: boolean }[] = [];
  private head = 0;
  private next: bigint | undefined;

  /** Takes the next offset of the batch; returns the function that marks it done. */
  take(offset: string): () => void {
    const entry = { offset, done: false };
    this.entries.push(entry);
    return () => {
      entry.done = true;
    };
  }

  /**
   * Moves over the done prefix, calling `onResolved` for each offset it passes, in order.
   * @returns the offset to commit (one past the last resolved), undefined while none is resolved
   */
  advance(onResolved: (offset: string) => void = () => undefined): bigint | undefined {
    while (this.head < this.entries.length && this.entries[this.head]!.done) {
      const { offset } = this.entries[this.head]!;
      onResolved(offset);
      this.next = BigInt(offset) + 1n;
      this.head++;
    }
    return this.next;
  }
}
