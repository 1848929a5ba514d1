// Runs in every test file's process before its tests (vitest setupFiles).
import { verifyFixedQueries } from '../db/fixed-query.ts';

// Every hot statement fixedQuery serves is also built the ordinary way and compared, so a
// builder edited to branch on an argument's content fails its route's tests.
verifyFixedQueries(true);
