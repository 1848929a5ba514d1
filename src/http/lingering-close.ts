// Lingering close for answers given before the request body was read (413).
//
// Threat/invariant: when a server closes a TCP socket whose receive buffer still holds unread
// bytes, the kernel sends RST instead of FIN. A client still uploading an oversized body then gets
// EPIPE/ECONNRESET — often before it has read the 413 we sent — so the refusal looks like a crash
// and, on a kept-alive connection, the client cannot tell which request failed. Node's http server
// closes a `Connection: close` socket with `socket.destroySoon()`, i.e. FIN then an immediate
// destroy while the client's body may still be in flight.
//
// Instead, for that one socket: half-close (FIN after the answer), keep discarding what the client
// still sends (the http parser reads on; the refused request's body is dumped), and destroy only
// when the client closes its side or after a bounded linger, like nginx's lingering_close. The
// bound keeps a client announcing an endless body from holding the socket.
import { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Longest time a refused upload may keep the socket after the answer was sent. */
export const LINGER_MS = 5_000;

const lingering = new WeakSet<Socket>();

/**
 * Answer with `Connection: close`, then close the socket gracefully once the answer is written.
 * Call before the reply is sent. Without a real socket (in-process inject) it only sets the header.
 */
export function closeAfterReply(
  request: FastifyRequest,
  reply: FastifyReply,
  lingerMs = LINGER_MS,
) {
  reply.header('connection', 'close');
  const socket = request.raw.socket;
  if (!(socket instanceof Socket) || lingering.has(socket)) return;
  lingering.add(socket);
  // Node's http server calls destroySoon() after the last response of a closing connection.
  Object.defineProperty(socket, 'destroySoon', {
    configurable: true,
    writable: true,
    value: () => linger(socket, lingerMs),
  });
}

function linger(socket: Socket, lingerMs: number) {
  if (socket.destroyed) return;
  // The answer is queued before the FIN; both leave even while the client is still sending.
  socket.end();
  const deadline = setTimeout(() => socket.destroy(), lingerMs);
  deadline.unref();
  socket.once('close', () => clearTimeout(deadline));
  // The client's FIN: everything it sent has been read, so closing now cannot reset.
  socket.once('end', () => socket.destroy());
  socket.resume();
}
