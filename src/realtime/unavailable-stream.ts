// The stream handler wired until the conversation recorder (src/conversations/) lands: it speaks
// the first step of the protocol (`ready`) and then says plainly that recording is not available,
// closing with 1011 on the first `audio-start`. Never used once a real handler is wired.
import type { AudioStreamHandler } from './audio-stream.ts';

export const RECORDING_NOT_AVAILABLE = 'recording not available';

export const unavailableStream: AudioStreamHandler = (socket, ctx) => {
  socket.send(
    JSON.stringify({
      type: 'ready',
      data: { client_id: ctx.clientId, device_name: ctx.deviceName, codec: ctx.codec },
    }),
  );
  socket.on('message', (data, isBinary) => {
    if (isBinary) return;
    let type: unknown;
    try {
      type = (JSON.parse(data.toString()) as { type?: unknown }).type;
    } catch {
      return;
    }
    if (type === 'audio-start') socket.close(1011, RECORDING_NOT_AVAILABLE);
  });
};
