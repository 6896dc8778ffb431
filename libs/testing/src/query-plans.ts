import type pg from 'pg';

/** One statement planned by explainingPool: its SQL, Postgres' JSON plan, and the relations it reads by sequential scan. */
export interface PlannedQuery {
  sql: string;
  plan: unknown;
  seqScans: string[];
}

const PLANNABLE = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i;

/** Relation names of every `Seq Scan` node in a plan from `EXPLAIN (FORMAT JSON)`. */
export function seqScannedRelations(plan: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n['Node Type'] === 'Seq Scan' && typeof n['Relation Name'] === 'string') found.push(n['Relation Name']);
    for (const v of Object.values(n)) if (v && typeof v === 'object') walk(v);
  };
  walk(plan);
  return found;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

async function explain(on: Queryable, sql: string, values: unknown, plans: PlannedQuery[]): Promise<void> {
  if (!PLANNABLE.test(sql)) return;
  // EXPLAIN without ANALYZE plans the statement with the same parameters (a custom plan) but does not run it.
  const r = await on.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, values as unknown[]);
  const plan = r.rows[0]?.['QUERY PLAN'];
  plans.push({ sql, plan, seqScans: seqScannedRelations(plan) });
}

/**
 * Wraps a pg Pool so that every SELECT/INSERT/UPDATE/DELETE run through it (directly or on a client from
 * `connect()`, e.g. in `inTransaction`) is first planned with `EXPLAIN (FORMAT JSON)` and the same parameters,
 * then run as usual. Lets a test call the real repositories and check the plans of the queries they send.
 * Only the `query(text, values)` form is planned; other forms pass through.
 */
export function explainingPool(pool: pg.Pool): { pool: pg.Pool; plans: PlannedQuery[] } {
  const plans: PlannedQuery[] = [];
  const wrapQuery =
    (target: Queryable) =>
    async (...args: unknown[]): Promise<unknown> => {
      if (typeof args[0] === 'string') await explain(target, args[0], args[1], plans);
      return (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  const wrapped = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') return wrapQuery(target as unknown as Queryable);
      if (prop === 'connect') {
        return async () => {
          const client = await target.connect();
          return new Proxy(client, {
            get: (c, p, r) => (p === 'query' ? wrapQuery(c) : (Reflect.get(c, p, r) as unknown)),
          });
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { pool: wrapped, plans };
}
