// Planner statistics for the embedded database. PostgreSQL's autovacuum keeps a server's
// statistics fresh; PGlite runs no autovacuum, and its table modification counters
// (pg_stat_user_tables.n_mod_since_analyze) stay at zero, so an embedded database that was never
// analysed plans every statement on default estimates: an org's page of 20 calls was read as
// "all the org's calls, filtered, sorted, then cut" (a bitmap heap scan, every row through the
// row-level-security filter) instead of the ordered index scan that reads 20 rows, and the
// further the logs grow the more each page read. ANALYZE restores the index plan.
//
// The driver counts the rows its statements wrote (the INSERT/UPDATE/DELETE/MERGE/COPY tags of
// their answers) and, like autovacuum's threshold, runs ANALYZE once they pass
// BASE_ROWS + FRACTION × the rows the tables held at the last one. ANALYZE takes the one
// connection like any session (never inside another's transaction) and runs after the write that
// crossed the threshold has answered: never on a request's path. On a big database it holds the
// connection for as long as it samples (at most 30 000 rows a table), which the threshold makes
// rarer as the tables grow.

/** Rows written before the first ANALYZE of a process, and on top of the fraction after it. */
export const BASE_ROWS = 200;
/** Fraction of the tables' rows (at the last ANALYZE) that must change before the next. */
export const FRACTION = 0.1;

export interface AutoAnalyze {
  /** Counts rows written by an answered statement; may start an ANALYZE after it. */
  written(rows: number): void;
  /** Resolves when no ANALYZE is running (for close, and for tests). */
  idle(): Promise<void>;
  /**
   * No run is set off after this; resolves once one set off before (its check at open, its
   * ANALYZE) has ended.
   */
  stop(): Promise<void>;
}

/**
 * `analyze` runs ANALYZE and answers how many rows the tables hold after it; `onError` hears a
 * failed run and which step failed, the check at open or ANALYZE (the next threshold crossing
 * tries again). `neverAnalysed`, when given, is asked
 * right away whether the tables hold rows that were never analysed: a database written before
 * statistics were kept, or by processes that each wrote fewer rows than the threshold (the count
 * starts afresh with each process). If so, the first ANALYZE runs then, not after the next
 * BASE_ROWS written.
 */
export function autoAnalyze(
  analyze: () => Promise<number>,
  onError: (err: unknown, step: 'check' | 'analyze') => void,
  neverAnalysed?: () => Promise<boolean>,
): AutoAnalyze {
  let changed = 0;
  let threshold = BASE_ROWS;
  let stopped = false;
  let running: Promise<void> | null = null;

  const start = (needed: () => Promise<boolean>) => {
    changed = 0;
    running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        let step: 'check' | 'analyze' = 'check';
        try {
          if (!(await needed())) return;
          step = 'analyze';
          threshold = BASE_ROWS + FRACTION * (await analyze());
        } catch (err) {
          onError(err, step);
        }
      })
      .finally(() => {
        running = null;
      });
  };
  const always = async () => true;
  if (neverAnalysed) start(neverAnalysed);

  return {
    written(rows) {
      if (rows <= 0 || stopped) return;
      changed += rows;
      if (changed >= threshold && !running) start(always);
    },
    async idle() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      while (running) await running;
    },
  };
}
