// The `twilio` package's entry point (its REST client, ~20 MB resident) is loaded only when a
// call is placed or ended: an app that has served TwiML and checked webhook signatures, with
// the package's own TwiML builders and signature check, never holds it. In a child process, so
// no other test's imports count.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createTwilioClients, type TwilioRest } from './twilio-client.ts';

const SCRIPT = `
  import { createRequire } from 'node:module';
  import { isValidTwilioSignature } from './src/telephony/webhook-signature.ts';
  import { sayAndHangUpTwiml, smsReplyTwiml } from './src/telephony/twiml.ts';
  import { createTwilioClients } from './src/telephony/twilio-client.ts';
  const loaded = () =>
    Object.keys(createRequire(import.meta.url).cache).some((k) => k.endsWith('/twilio/lib/index.js'));
  const before = loaded();
  const signed = isValidTwilioSignature('token', 'c2lnbmF0dXJl', 'https://x.example/webhook', {});
  const twiml = sayAndHangUpTwiml('Busy.') + smsReplyTwiml('ok');
  const clientFor = createTwilioClients({ twilio: { apiUrl: undefined, requestTimeoutMs: 1000 } });
  const afterLight = loaded();
  const client = await clientFor({ accountSid: 'AC' + '0'.repeat(32), authToken: 'x'.repeat(32) });
  console.log(JSON.stringify({ before, afterLight, after: loaded(), signed, twiml: twiml.includes('<Hangup/>'), calls: typeof client.calls }));
`;

describe('the twilio package', () => {
  it('loads its REST client on the first call that needs one, not before', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', SCRIPT],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_ENV: 'test' },
      },
    );
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({
      before: false,
      afterLight: false,
      after: true,
      signed: false,
      twiml: true,
      calls: 'function',
    });
  });

  it('a load that failed is tried again by the next call, not kept', async () => {
    let loads = 0;
    const clientFor = createTwilioClients(
      {
        twilio: {
          accountSid: undefined,
          authToken: undefined,
          apiUrl: undefined,
          requestTimeoutMs: 1000,
          streamTokenTtlSeconds: 60,
        },
      },
      async () => {
        loads++;
        if (loads === 1) throw Object.assign(new Error('too many open files'), { code: 'EMFILE' });
        return () => ({ calls: 'the client' }) as unknown as TwilioRest;
      },
    );
    const account = {
      accountSid: `AC${'0'.repeat(32)}`,
      authToken: 'x'.repeat(32),
      source: 'platform' as const,
    };
    await expect(clientFor(account)).rejects.toThrow('too many open files');
    expect((await clientFor(account)).calls).toBe('the client');
    expect(loads).toBe(2);
  });
});
