// The live device sockets of this instance: who holds each, so that a revocation can find and
// close them, and how many each user and org holds, for the per-instance limits. Pure in-memory
// bookkeeping; what triggers a close (the revocation list, device revokes, the watcher, shutdown)
// lives in realtime.plugin.ts.
import type { WebSocket } from 'ws';
import { closeReason } from './close-reason.ts';

export interface LiveSocket {
  socket: WebSocket;
  orgId: string;
  userId: string;
  deviceId: string;
  clientId: string;
  /** The session whose access token, cookie or ticket opened it (ends with the session). */
  sessionId?: string;
  /** The API key that opened it (ends when the key stops working). */
  apiKeyId?: string;
  /** Aborted, with the close reason, when the server ends the socket. */
  controller: AbortController;
}

export interface SocketLimits {
  perUser: number;
  perOrg: number;
}

export interface SocketRegistry {
  /** Whether one more socket for this user and org fits the limits now. */
  fits(orgId: string, userId: string): boolean;
  /**
   * Registers a socket, unless the limits are reached (false). Checked again here, synchronously,
   * because sockets race through the asynchronous gate. Unregisters itself when the socket closes.
   */
  add(entry: LiveSocket): boolean;
  /** Closes every socket `match` selects with this code and reason; returns how many. */
  closeWhere(match: (s: LiveSocket) => boolean, code: number, reason: string): number;
  all(): readonly LiveSocket[];
  readonly size: number;
  /**
   * Closes every socket (1001 going away) and resolves once all are closed, or after `graceMs`,
   * when the sockets that did not answer the close handshake are terminated.
   */
  closeAll(graceMs: number): Promise<void>;
}

export function createSocketRegistry(limits: SocketLimits): SocketRegistry {
  const live = new Set<LiveSocket>();
  // Per person, whatever org the socket is in: orgs are self-service (POST /api/orgs), so a count
  // per (org, user) would multiply the limit by the orgs one person creates.
  const perUser = new Map<string, number>();
  const perOrg = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string, d: number) => {
    const n = (m.get(k) ?? 0) + d;
    if (n <= 0) m.delete(k);
    else m.set(k, n);
  };

  function end(s: LiveSocket, code: number, reason: string) {
    if (!s.controller.signal.aborted) s.controller.abort(reason);
    if (s.socket.readyState === s.socket.OPEN || s.socket.readyState === s.socket.CONNECTING) {
      s.socket.close(code, closeReason(reason));
    }
  }

  const registry: SocketRegistry = {
    fits(orgId, userId) {
      return (
        (perUser.get(userId) ?? 0) < limits.perUser && (perOrg.get(orgId) ?? 0) < limits.perOrg
      );
    },
    add(entry) {
      if (!registry.fits(entry.orgId, entry.userId)) return false;
      live.add(entry);
      bump(perUser, entry.userId, 1);
      bump(perOrg, entry.orgId, 1);
      entry.socket.once('close', () => {
        if (!live.delete(entry)) return;
        bump(perUser, entry.userId, -1);
        bump(perOrg, entry.orgId, -1);
      });
      return true;
    },
    closeWhere(match, code, reason) {
      let n = 0;
      for (const s of live) {
        if (!match(s)) continue;
        end(s, code, reason);
        n++;
      }
      return n;
    },
    all: () => [...live],
    get size() {
      return live.size;
    },
    closeAll(graceMs) {
      const sockets = [...live];
      if (sockets.length === 0) return Promise.resolve();
      for (const s of sockets) end(s, 1001, 'server shutting down');
      return new Promise((resolve) => {
        let pending = sockets.length;
        const timer = setTimeout(() => {
          for (const s of sockets) s.socket.terminate();
          resolve();
        }, graceMs);
        timer.unref();
        for (const s of sockets) {
          const done = () => {
            pending--;
            if (pending === 0) {
              clearTimeout(timer);
              resolve();
            }
          };
          if (s.socket.readyState === s.socket.CLOSED) done();
          else s.socket.once('close', done);
        }
      });
    },
  };
  return registry;
}
