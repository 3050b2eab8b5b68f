/**
 * How many jobs of each kind a host takes at once: what its pools can serve. A kind never holds more than its
 * `max` containers, and the host never more than `maxContainers` in all, so a kind takes up to its max; when the
 * maxes add up to more than the host may hold, each kind's share is cut in proportion (at least one each), so
 * the host does not take jobs it would only keep waiting for a container while another host could run them.
 */
export function kindConcurrency(kinds: ReadonlyMap<string, { readonly max: number }>, maxContainers: number): Map<string, number> {
  const total = [...kinds.values()].reduce((sum, kind) => sum + kind.max, 0);
  const scale = total <= maxContainers ? 1 : maxContainers / total;
  const shares = new Map<string, number>();
  for (const [name, kind] of kinds) shares.set(name, Math.max(1, Math.floor(kind.max * scale)));
  return shares;
}
