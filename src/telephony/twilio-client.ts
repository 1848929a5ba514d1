// The Twilio REST client, built from the `twilio` package. TWILIO_API_URL (a proxy, or the fake
// server in tests) replaces the https://*.twilio.com origin of every request while the package
// still builds the paths, bodies and auth exactly as it does for Twilio.
import { createHash } from 'node:crypto';
import type twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Config } from '../config.ts';
import type { TwilioAccount } from './twilio-account.ts';

const TWILIO_ORIGIN = /^https:\/\/[a-z0-9.-]+\.twilio\.com(?=\/|$)/i;

export function rebaseTwilioUrl(uri: string, base: string | undefined): string {
  return base ? uri.replace(TWILIO_ORIGIN, base) : uri;
}

export type TwilioRest = ReturnType<typeof twilio>;

/**
 * The package's entry point with its REST client, loaded on the first call that needs it (an
 * instance that never places or ends a call never holds it: ~20 MB resident); twilio-parts.ts
 * holds the light parts.
 */
async function loadTwilio(config: Pick<Config, 'twilio'>) {
  const { default: twilio } = await import('twilio');
  class RebasedRequestClient extends twilio.RequestClient {
    constructor(
      private readonly base: string | undefined,
      opts: ConstructorParameters<typeof twilio.RequestClient>[0],
    ) {
      super(opts);
    }

    override request<TData>(opts: RequestClient.RequestOptions<TData>) {
      return super.request<TData>({ ...opts, uri: rebaseTwilioUrl(opts.uri, this.base) });
    }
  }
  const httpClient = new RebasedRequestClient(config.twilio.apiUrl, {
    timeout: config.twilio.requestTimeoutMs,
    keepAlive: true,
  });
  return (account: TwilioAccount) =>
    twilio(account.accountSid, account.authToken, { httpClient, autoRetry: false });
}

/** The client of an account: built on first use, then reused. */
export type TwilioClientFor = (account: TwilioAccount) => TwilioRest | Promise<TwilioRest>;

/**
 * One client per account, reused (keep-alive connections); keyed by a hash, never the token.
 * `load` is the package's loader (tests give one that fails).
 */
export function createTwilioClients(
  config: Pick<Config, 'twilio'>,
  load: typeof loadTwilio = loadTwilio,
): TwilioClientFor {
  let make: Promise<(account: TwilioAccount) => TwilioRest> | undefined;
  const clients = new Map<string, TwilioRest>();
  return async (account) => {
    const key = createHash('sha256')
      .update(`${account.accountSid}\0${account.authToken}`)
      .digest('base64url');
    let client = clients.get(key);
    if (!client) {
      // A load that failed (EMFILE while importing, say) is not kept: the next call loads again.
      make ??= load(config).catch((err: unknown) => {
        make = undefined;
        throw err;
      });
      client = (await make)(account);
      if (clients.size >= 1000) clients.clear();
      clients.set(key, client);
    }
    return client;
  };
}
