import { describe, expect, it } from 'vitest';
import { clientKey } from './client-key.ts';

describe('clientKey', () => {
  it('keeps IPv4 addresses as they are', () => {
    expect(clientKey('198.51.100.7')).toBe('198.51.100.7');
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
  });

  it('counts an IPv6 client by its /64, whatever the spelling', () => {
    const forms = [
      '2001:db8:aa:1::1',
      '2001:DB8:AA:1:0:0:0:2',
      '2001:0db8:00aa:0001:ffff:ffff:ffff:ffff',
      '2001:db8:aa:1:1234:5678:9abc:def0',
      '2001:db8:aa:1::',
      '2001:db8:aa:1:0:0:1.2.3.4',
    ];
    for (const ip of forms) expect(clientKey(ip), ip).toBe('2001:db8:aa:1::/64');
    expect(clientKey('2001:db8:aa:2::1')).toBe('2001:db8:aa:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('2001:db8:1::')).toBe('2001:db8:1:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80:1:2:3:4:5:6:7')).toBe('fe80:1:2:3::/64');
  });

  it('ignores zone ids', () => {
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('fe80::abcd%25')).toBe('fe80:0:0:0::/64');
    expect(clientKey('2001:db8:aa:1::9%en0')).toBe('2001:db8:aa:1::/64');
  });

  it('turns IPv4-mapped IPv6 addresses into their IPv4 address', () => {
    expect(clientKey('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(clientKey('::FFFF:198.51.100.7')).toBe('198.51.100.7');
    expect(clientKey('::ffff:c633:6407')).toBe('198.51.100.7');
    expect(clientKey('0:0:0:0:0:ffff:c633:6407')).toBe('198.51.100.7');
    expect(clientKey('0000:0000:0000:0000:0000:ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(clientKey('::ffff:0.0.0.0')).toBe('0.0.0.0');
    // Not mapped: IPv4-compatible (deprecated) and NAT64 addresses are IPv6 clients.
    expect(clientKey('::198.51.100.7')).toBe('0:0:0:0::/64');
    expect(clientKey('64:ff9b::198.51.100.7')).toBe('64:ff9b:0:0::/64');
  });

  it('keeps anything that is not an address as it is', () => {
    for (const odd of ['', 'unknown', 'b:c', '2001:db8::1::2', '1.2.3', '::ffff:1.2.3.999']) {
      expect(clientKey(odd)).toBe(odd);
    }
  });
});
