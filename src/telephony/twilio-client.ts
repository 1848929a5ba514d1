// The Twilio REST client, built from the `twilio` package. TWILIO_API_URL (a proxy, or the fake
// server in tests) replaces the https://*.twilio.com origin of every request while the package
// still builds the paths, bodies and auth exactly as it does for Twilio.
import { createHash } from 'node:crypto';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Config } from '../config.ts';
import type { TwilioAccount } from './twilio-account.ts';

const TWILIO_ORIGIN = /^https:\/\/[a-z0-9.-]+\.twilio\.com(?=\/|$)/i;

export function rebaseTwilioUrl(uri: string, base: string | undefined): string {
  return base ? uri.replace(TWILIO_ORIGIN, base) : uri;
}

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

export type TwilioRest = ReturnType<typeof twilio>;

/** One client per account, reused (keep-alive connections); keyed by a hash, never the token. */
export function createTwilioClients(config: Pick<Config, 'twilio'>) {
  const httpClient = new RebasedRequestClient(config.twilio.apiUrl, {
    timeout: config.twilio.requestTimeoutMs,
    keepAlive: true,
  });
  const clients = new Map<string, TwilioRest>();
  return (account: TwilioAccount): TwilioRest => {
    const key = createHash('sha256')
      .update(`${account.accountSid}\0${account.authToken}`)
      .digest('base64url');
    let client = clients.get(key);
    if (!client) {
      if (clients.size >= 1000) clients.clear();
      client = twilio(account.accountSid, account.authToken, { httpClient, autoRetry: false });
      clients.set(key, client);
    }
    return client;
  };
}
