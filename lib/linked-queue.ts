/**
 * A FIFO queue with O(1) push, shift and removal of any entry by the handle `push` returned. The pool keeps
 * its ready containers and its waiters in these: a waiter that gives up must leave the middle of the line
 * without a scan, and a pool of 10,000 must not pay for `Array#shift`.
 */
export interface QueueEntry<T> {
  readonly value: T;
}

interface Node<T> extends QueueEntry<T> {
  previous: Node<T> | undefined;
  next: Node<T> | undefined;
  queued: boolean;
}

export class LinkedQueue<T> implements Iterable<T> {
  #head: Node<T> | undefined;
  #tail: Node<T> | undefined;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(value: T): QueueEntry<T> {
    const node: Node<T> = { value, previous: this.#tail, next: undefined, queued: true };
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#length++;
    return node;
  }

  shift(): T | undefined {
    const head = this.#head;
    if (!head) return undefined;
    this.remove(head);
    return head.value;
  }

  peek(): T | undefined {
    return this.#head?.value;
  }

  /** Removes the entry if it is still queued; returns whether it was. */
  remove(entry: QueueEntry<T>): boolean {
    const node = entry as Node<T>;
    if (!node.queued) return false;
    node.queued = false;
    if (node.previous) node.previous.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.previous = node.previous;
    else this.#tail = node.previous;
    node.previous = undefined;
    node.next = undefined;
    this.#length--;
    return true;
  }

  /** Empties the queue and returns what it held, oldest first. */
  clear(): T[] {
    const values = [...this];
    while (this.#head) this.remove(this.#head);
    return values;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let node = this.#head; node; node = node.next) yield node.value;
  }
}
