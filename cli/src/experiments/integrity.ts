// After the chaos: was anything lost or oversold? Every order acknowledged with 201 must read back
// confirmed, and each product's available + reserved must still equal what it was before.
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Sample } from '../traffic/load.js';

export type StockTotals = Record<string, number>;

export interface IntegrityResult {
  acknowledged: number;
  readBack: number;
  missing: string[];
  stockBefore: StockTotals;
  stockAfter: StockTotals;
  stockConserved: boolean;
  passed: boolean;
}

export async function stockTotals(inventoryUrl: string): Promise<StockTotals> {
  // undici's request, not fetch, here and for every call to a user's port: fetch refuses the Fetch
  // standard's "bad ports" (6000, 6665-6669...), which are fine ports for a platform.
  const res = await request(`${inventoryUrl}/inventory`, { signal: AbortSignal.timeout(5000) });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`GET /inventory answered ${res.statusCode}`);
  }
  const products = (await res.body.json()) as Array<{
    product_id: string;
    available: number;
    reserved: number;
  }>;
  return Object.fromEntries(products.map((p) => [p.product_id, p.available + p.reserved]));
}

export async function checkIntegrity(
  orderUrl: string,
  inventoryUrl: string,
  samples: readonly Sample[],
  stockBefore: StockTotals,
): Promise<IntegrityResult> {
  const ids = samples.flatMap((sample) => (sample.orderId ? [sample.orderId] : []));
  const missing: string[] = [];
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
        if (!(await readsBackConfirmed(orderUrl, id))) missing.push(id);
      }
    }),
  );
  const stockAfter = await stockTotals(inventoryUrl);
  const stockConserved = Object.entries(stockBefore).every(
    ([product, total]) => stockAfter[product] === total,
  );
  return {
    acknowledged: ids.length,
    readBack: ids.length - missing.length,
    missing: missing.slice(0, 20),
    stockBefore,
    stockAfter,
    stockConserved,
    passed: missing.length === 0 && stockConserved,
  };
}

async function readsBackConfirmed(orderUrl: string, id: string): Promise<boolean> {
  // A replica may still be starting: give each read a few tries before calling the order lost.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const res = await request(`${orderUrl}/orders/${id}`, { signal: AbortSignal.timeout(5000) });
      const body = (await res.body.json()) as { status?: string };
      if (res.statusCode === 200) return body.status === 'confirmed';
      if (res.statusCode === 404) return false;
    } catch {
      // retried below
    }
    await sleep(200);
  }
  return false;
}
