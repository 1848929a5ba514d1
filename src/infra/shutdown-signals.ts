// What a stop signal means while the server runs or drains. One primitive, tested on its own:
// main.ts acts on its answer.
//
// - The first SIGTERM or SIGINT starts the graceful drain.
// - A repeated SIGTERM (a process manager's) changes nothing: the drain and its time limit rule.
// - A second Ctrl-C forces the exit, but only one pressed later: a terminal sends SIGINT to every
//   process of its foreground group, and npm (npm start) forwards the one it gets to its child,
//   so a single press reaches the server twice within milliseconds. Counting that echo as a
//   second press would cut every drain short under npm start.

/** SIGINTs this soon after the one that started the drain are the same key press. */
export const SAME_PRESS_MS = 1_000;

export type SignalAction = 'drain' | 'ignore' | 'exit_now';

export function onStopSignal(
  signal: 'SIGTERM' | 'SIGINT',
  drainStartedAt: number | null,
  now: number,
): SignalAction {
  if (drainStartedAt === null) return 'drain';
  if (signal === 'SIGINT' && now - drainStartedAt >= SAME_PRESS_MS) return 'exit_now';
  return 'ignore';
}
