// Types of slow-flood.mjs, for the TypeScript tests that use it.
export function startSlowFlood(options: {
  port: number;
  token?: string;
  count?: number;
  declaredBytes?: number;
  trickleMs?: number;
}): { stats: { opened: number; closedByServer: number; replies: Record<string, number> }; stop: () => void };

export function normalPredictions(options: {
  port: number;
  token?: string;
  body: Buffer;
  count: number;
  intervalMs: number;
}): Promise<Array<{ ms: number; status?: number; classId?: number; error?: string }>>;

export function percentile(values: number[], p: number): number;
