// examples/device-client.ts, run as a device would run it: its WAV reader and its Wyoming
// framing against the stream handler over a real socket; the stored file plays back the same.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav, streamPcm, tone } from '../../examples/device-client.ts';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { type DeviceServer, ffprobe, sinePcm, startDeviceServer } from '../test/audio.ts';
import { addMember, createOrg, createUser } from '../test/factories.ts';
import { createAudioStreamHandler } from './audio-stream.handler.ts';
import { conversationFile } from './storage.ts';
import { wavHeader } from './wav.ts';

let t: TestApp;
let server: DeviceServer;
let url: string;

beforeAll(async () => {
  t = await buildTestApp();
  const org = await createOrg(t.database);
  const user = await createUser(t.database, { email: `device-${Date.now()}@example.test` });
  await addMember(t.database, org, user, 'member');
  server = await startDeviceServer(
    createAudioStreamHandler({ database: t.database, config: t.config }),
  );
  // The test server reads org and user from the query (the real routes take them from the token).
  url = server.url('pcm', { orgId: org.id, userId: user.id }).replace(/&device_name=[^&]*/, '');
});
afterAll(async () => {
  await server.close();
  await t.close();
});

describe('examples/device-client.ts', () => {
  it('reads a WAV file and streams it; the stored conversation plays the same audio', async () => {
    const samples = sinePcm(0.8, 22050, 2);
    const pcm = readWav(
      Buffer.concat([
        wavHeader({ sampleRate: 22050, channels: 2, width: 2 }, samples.length),
        samples,
      ]),
    );
    expect(pcm).toMatchObject({ rate: 22050, channels: 2 });
    const lines: string[] = [];
    const result = await streamPcm({
      url,
      token: 'unused-here',
      deviceName: 'example',
      pcm,
      log: (l) => lines.push(l),
    });
    expect(result).toMatchObject({ bytes: samples.length, durationMs: 800 });
    expect(lines[0]).toMatch(/"type":"ready"/);

    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('conversations')
        .selectAll()
        .where('id', '=', result.conversationId)
        .executeTakeFirstOrThrow(),
    );
    expect(row).toMatchObject({
      device_name: 'example',
      status: 'complete',
      sample_rate: 22050,
      channels: 2,
    });
    const path = conversationFile(t.config.dataDir, row);
    expect(readFileSync(path).subarray(44).equals(samples)).toBe(true);
    const probe = await ffprobe(path);
    expect(probe).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: 22050, channels: 2 });
  });

  it('generates a tone when no file is given, paced in real time', async () => {
    const at = Date.now();
    const result = await streamPcm({
      url,
      token: 'x',
      deviceName: 'tone',
      pcm: tone(0.5),
      realtime: true,
    });
    expect(result.durationMs).toBe(500);
    expect(Date.now() - at).toBeGreaterThanOrEqual(450);
  });

  it('refuses what is not 16-bit PCM WAV', () => {
    expect(() => readWav(Buffer.from('not a wav file at all....'))).toThrow(/not a WAV/);
  });
});
