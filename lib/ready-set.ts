/**
 * The pool's ready containers: first in, first out, indexed by id. A checkout takes the oldest in O(1), and a
 * death reported by the engine takes a container out of the middle by its id in O(1), without a scan, so a
 * pool of 10,000 pays the same as a pool of 10. (A bare Map would do the lookups, but shifting its oldest key
 * walks over the holes that earlier deletes left, until the next rehash.)
 *
 * Every entry is stamped with an insertion number, so a reconcile can look only at the containers that were
 * already ready when it asked the engine for its list, and never drop one that arrived after the list was made.
 */
interface Node<C> {
  readonly value: C;
  readonly stamp: number;
  previous: Node<C> | undefined;
  next: Node<C> | undefined;
}

export class ReadySet<C extends { readonly id: string }> implements Iterable<C> {
  readonly #byId = new Map<string, Node<C>>();
  #head: Node<C> | undefined;
  #tail: Node<C> | undefined;
  #stamp = 0;

  get length(): number {
    return this.#byId.size;
  }

  /** The stamp the next container will get: those already held have smaller ones. */
  get nextStamp(): number {
    return this.#stamp;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Adds a container as the newest; a container already held (same id) is left where it is. */
  push(value: C): void {
    if (this.#byId.has(value.id)) return;
    const node: Node<C> = { value, stamp: this.#stamp++, previous: this.#tail, next: undefined };
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#byId.set(value.id, node);
  }

  /** Takes the oldest container out. */
  shift(): C | undefined {
    const head = this.#head;
    if (!head) return undefined;
    this.#unlink(head);
    return head.value;
  }

  /** Takes the container with this id out; undefined when it is not held. */
  remove(id: string): C | undefined {
    const node = this.#byId.get(id);
    if (!node) return undefined;
    this.#unlink(node);
    return node.value;
  }

  /** The containers added before `stamp` (see `nextStamp`), oldest first. */
  addedBefore(stamp: number): C[] {
    const found: C[] = [];
    for (let node = this.#head; node && node.stamp < stamp; node = node.next) found.push(node.value);
    return found;
  }

  /** Empties the set and returns what it held, oldest first. */
  clear(): C[] {
    const values = [...this];
    this.#byId.clear();
    this.#head = undefined;
    this.#tail = undefined;
    return values;
  }

  *[Symbol.iterator](): Iterator<C> {
    for (let node = this.#head; node; node = node.next) yield node.value;
  }

  #unlink(node: Node<C>): void {
    this.#byId.delete(node.value.id);
    if (node.previous) node.previous.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.previous = node.previous;
    else this.#tail = node.previous;
    node.previous = undefined;
    node.next = undefined;
  }
}
