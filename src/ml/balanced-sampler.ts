import { seededPermutation } from './seeded';

/**
 * An epoch's order in which every stretch of k rows holds one row of each of the k labels (in a
 * shuffled order), so that each batch is drawn evenly over the labels: as many rows as the
 * epoch has, each label's rows taken in a shuffled order and shuffled again when they run out —
 * a rare label's rows recur within an epoch, a common label's are not all seen in one. Seeded by
 * the training shuffle's generator, so a run is repeatable.
 */
export function balancedOrder(
  positions: Uint32Array,
  classOf: (position: number) => number,
  random: () => number,
): Uint32Array {
  const byClass = new Map<number, number[]>();
  for (const p of positions) {
    const c = classOf(p);
    const list = byClass.get(c);
    if (list) list.push(p);
    else byClass.set(c, [p]);
  }
  const pools = [...byClass.values()].map((rows) => ({ rows, order: new Uint32Array(0) as Uint32Array, next: 0 }));
  const order = new Uint32Array(positions.length);
  let turn: Uint32Array = new Uint32Array(0);
  for (let i = 0; i < order.length; i++) {
    const slot = i % pools.length;
    if (slot === 0) turn = seededPermutation(pools.length, random);
    const pool = pools[turn[slot]];
    if (pool.next === pool.order.length) {
      pool.order = seededPermutation(pool.rows.length, random);
      pool.next = 0;
    }
    order[i] = pool.rows[pool.order[pool.next++]];
  }
  return order;
}
