import { describe, expect, it } from 'vitest';
import { extractLinks } from './mailer.ts';
import * as t from './templates.ts';

const publicUrl = 'https://sb.example.com/';
const token = 'a+b/c=d&e?f#g h';
const encoded = encodeURIComponent(token);
const at = new Date('2025-03-04T05:06:07Z');

const all: [string, t.RenderedMail][] = [
  ['verifyEmail', t.verifyEmail({ publicUrl, token, name: 'Ada' })],
  ['passwordReset', t.passwordReset({ publicUrl, token, minutes: 30 })],
  [
    'invitation',
    t.invitation({ publicUrl, token, orgName: 'Acme', inviterName: 'Bob', role: 'admin', days: 7 }),
  ],
  ['setPassword', t.setPassword({ publicUrl, token, orgName: 'Acme' })],
  ['welcome', t.welcome({ publicUrl, name: 'Ada' })],
  ['mfaEnabled', t.mfaEnabled({ publicUrl, at })],
  ['mfaDisabled', t.mfaDisabled({ publicUrl, at })],
  ['backupCodesRegenerated', t.backupCodesRegenerated({ publicUrl, at })],
  ['passwordChanged', t.passwordChanged({ publicUrl, at })],
  ['passwordWasReset', t.passwordWasReset({ publicUrl, at })],
  ['newDeviceLogin', t.newDeviceLogin({ publicUrl, at, userAgent: 'Firefox', ip: '203.0.113.9' })],
];

function hrefs(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) =>
    m[1]!
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'"),
  );
}

describe('mail templates', () => {
  it.each(all)('%s has a subject, a text part and an HTML part, all naming Switchboard', (_, m) => {
    expect(m.subject).toMatch(/Switchboard/);
    expect(m.text.length).toBeGreaterThan(40);
    expect(m.text).toMatch(/Switchboard/);
    expect(m.html).toMatch(/^<!doctype html>/);
    expect(m.html).toMatch(/Switchboard/);
    expect(m.text).not.toMatch(/<[a-z]/i);
  });

  it.each(all)('%s uses only absolute links on the public URL, same in text and HTML', (_, m) => {
    const textLinks = extractLinks(m.text);
    expect(textLinks.length).toBeGreaterThan(0);
    for (const link of [...textLinks, ...hrefs(m.html)]) {
      expect(link.startsWith('https://sb.example.com/')).toBe(true);
      expect(link).not.toMatch(/example\.com\/\//);
    }
    expect(new Set(hrefs(m.html))).toEqual(new Set(textLinks));
  });

  it.each([
    ['verifyEmail', '/verify-email', ''],
    ['passwordReset', '/reset-password', ''],
    ['invitation', '/accept-invite', ''],
    ['setPassword', '/reset-password', '&new=1'],
  ])('%s links to %s with the token URL-encoded', (name, path, extra) => {
    const m = all.find(([n]) => n === name)![1];
    const expected = `https://sb.example.com${path}?token=${encoded}${extra}`;
    expect(extractLinks(m.text)).toContain(expected);
    expect(hrefs(m.html)).toContain(expected);
    const url = new URL(expected);
    expect(url.searchParams.get('token')).toBe(token);
    expect(m.text).not.toContain(token);
  });

  it('security notices say what happened, when, and what to do if it was not you', () => {
    for (const [name, m] of all.slice(5)) {
      expect(m.text, name).toContain('2025-03-04 05:06 UTC');
      expect(m.text, name).toMatch(/If this was not you/);
      expect(extractLinks(m.text), name).toContain('https://sb.example.com/forgot-password');
    }
    const device = all.find(([n]) => n === 'newDeviceLogin')![1];
    expect(device.text).toContain('Firefox');
    expect(device.text).toContain('203.0.113.9');
  });

  it('HTML-escapes every interpolated value', () => {
    const evil = '<script>alert("x")</script>';
    const rendered = [
      t.invitation({
        publicUrl,
        token: '"><img src=x>',
        orgName: evil,
        inviterName: evil,
        role: evil,
        days: 7,
      }),
      t.setPassword({ publicUrl, token, orgName: evil }),
      t.verifyEmail({ publicUrl, token, name: evil }),
      t.welcome({ publicUrl, name: evil }),
      t.newDeviceLogin({ publicUrl, at, name: evil, userAgent: evil, ip: evil }),
    ];
    for (const m of rendered) {
      expect(m.html).not.toContain('<script>');
      expect(m.html).not.toContain('<img');
      expect(m.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    }
    // the raw value is kept (readable) in the plain-text part
    expect(rendered[0]!.text).toContain(evil);
  });

  it('keeps user-supplied values on one line and bounded', () => {
    const m = t.invitation({
      publicUrl,
      token,
      orgName: `Acme\r\n\r\nPlease also send your password to https://evil.test${'x'.repeat(500)}`,
      role: 'member',
      days: 7,
    });
    expect(m.subject).not.toMatch(/[\r\n]/);
    expect(m.text).not.toMatch(/Acme\r?\n/);
    expect(m.text.length).toBeLessThan(1200);
  });
});
