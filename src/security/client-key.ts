// Who a per-IP limit counts. An IPv6 host is handed a whole /64 (often far more) and can pick a
// new source address for every request, so counting single IPv6 addresses would give it 2^64
// fresh budgets: IPv6 clients are counted by their /64. An IPv4 client seen through a dual-stack
// socket (`::ffff:198.51.100.7`) is the same client as `198.51.100.7` and shares its budget.
import { isIPv4, isIPv6 } from 'node:net';

/**
 * A client identity fit for per-IP limits, made only by `clientKey`. The rate limiter demands it
 * for every `*_ip` limit, so an address can never reach one of them un-normalised.
 */
export type ClientKey = string & { readonly __clientKey: unique symbol };

/** The 8 groups of a valid IPv6 address (any form, embedded dotted IPv4 included). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array(8 - front.length - back.length).fill(0), ...back];
}

/**
 * `198.51.100.7` → `198.51.100.7`; `::ffff:198.51.100.7` → `198.51.100.7`;
 * `2001:DB8:0:1::5%eth0` → `2001:db8:0:1::/64`. Anything that is not an IP address (a socket
 * closed before Fastify read it) is kept as it is: it still gets a budget of its own.
 */
export function clientKey(ip: string): ClientKey {
  if (isIPv4(ip)) return ip as ClientKey;
  // A zone id (`%eth0`) names the local interface, not the client.
  const zone = ip.indexOf('%');
  const address = zone === -1 ? ip : ip.slice(0, zone);
  if (!isIPv6(address)) return ip as ClientKey;
  const g = ipv6Groups(address);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const [hi = 0, lo = 0] = g.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}` as ClientKey;
  }
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64` as ClientKey;
}
