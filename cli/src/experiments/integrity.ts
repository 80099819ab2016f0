// After the chaos: was anything oversold? Each product's available + reserved must still equal what
// it was before. (Whether anything acknowledged was lost is traffic/read-back.ts's to say.)
import { request } from 'undici';

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
