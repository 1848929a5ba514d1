// The README's agent-worker snippet, run: examples/agent-context.ts against a listening
// Switchboard over real HTTP (Node's fetch) with a real API key — load a participant's context,
// remember a preference, see it in the next context — and its errors for a participant of another
// org and a key without the scope. The README shows the example's snippet verbatim.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadParticipantContext, rememberPreference } from '../../examples/agent-context.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { createKey, type Team, team } from '../test/org-helpers.ts';

let t: TestApp;
let a: Team;
let b: Team;
let url: string;
let key: string;

beforeAll(async () => {
  t = await buildTestApp();
  url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  a = await team(t, 'Worker Org');
  b = await team(t, 'Elsewhere');
  key = (await createKey(t.app, a.owner, ['agent:context', 'agent:preferences', 'users:read'])).key;
});
afterAll(() => t.close());

describe('examples/agent-context.ts', () => {
  it('loads a participant’s context and remembers a preference', async () => {
    const before = await loadParticipantContext(url, key, a.member.user.id);
    expect(before.user).toEqual({
      id: a.member.user.id,
      full_name: a.member.user.full_name,
      email: a.member.email,
    });
    expect(before.role).toBe('member');
    expect(before.org.name).toBe('Worker Org');
    expect(before.preferences).toEqual({});

    const written = await rememberPreference(url, key, a.member.user.id, 'language', 'pt-BR');
    expect(written.preferences).toEqual({ language: 'pt-BR' });
    const after = await loadParticipantContext(url, key, a.member.user.id);
    expect(after.preferences).toEqual({ language: 'pt-BR' });
    expect(after.preferences_digest).toBe(written.preferences_digest);
    expect(after.preferences_digest).not.toBe(before.preferences_digest);
  });

  it('fails with the problem code for another org’s participant and for a key without scope', async () => {
    await expect(loadParticipantContext(url, key, b.member.user.id)).rejects.toThrow(
      /Switchboard 404 not_found/,
    );
    const narrow = (await createKey(t.app, a.owner, ['prompts:read'])).key;
    await expect(loadParticipantContext(url, narrow, a.member.user.id)).rejects.toThrow(
      /Switchboard 403 forbidden/,
    );
    await expect(rememberPreference(url, key, a.member.user.id, 'bad key', 'x')).rejects.toThrow(
      /Switchboard 422 invalid_preferences/,
    );
  });

  it('is what the README shows', () => {
    const example = readFileSync(
      new URL('../../examples/agent-context.ts', import.meta.url),
      'utf8',
    );
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const snippet = example.split('// --- snippet start\n')[1]?.split('// --- snippet end')[0];
    expect(snippet?.length).toBeGreaterThan(500);
    expect(readme).toContain(snippet);
  });
});
