// GET /.well-known/jwks.json: the public keys agent workers and reverse proxies verify access
// tokens with. The response schema lists the public members only, so the serializer drops any
// private member (`d`) even if one ever reached the ring.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { JWKS_MAX_AGE_SECONDS } from '../crypto/signing-key-timing.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { responses } from '../http/schemas.ts';
import type { KeyRing } from './signing-keys.ts';

const Jwk = Type.Object(
  {
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ description: 'Public key, base64url' }),
    kid: Type.String(),
    alg: Type.Literal('EdDSA'),
    use: Type.Literal('sig'),
  },
  { additionalProperties: false, title: 'Jwk' },
);

const Jwks = Type.Object(
  { keys: Type.Array(Jwk) },
  {
    additionalProperties: false,
    title: 'Jwks',
    description:
      'The active signing key first, then a staged key (published before it signs, see the README on key rotation), then recently retired keys',
  },
);

/**
 * Consumers may cache the set for JWKS_MAX_AGE_SECONDS. A rotated-in key is published here that
 * long (plus a ring reload) before it signs, so a verifier holding a cached set never meets a kid
 * it does not know; retired keys stay until their tokens have expired.
 */
const CACHE_CONTROL = `public, max-age=${JWKS_MAX_AGE_SECONDS}`;

export const jwksRoutes: FastifyPluginAsyncTypebox<{ getKeyRing: () => KeyRing }> = async (
  app,
  { getKeyRing },
) => {
  app.get(
    '/.well-known/jwks.json',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        operationId: 'getJwks',
        security: [],
        tags: ['auth'],
        summary: 'Public keys (JWKS) that verify access tokens',
        response: responses({ 200: Jwks }),
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', CACHE_CONTROL);
      return { keys: getKeyRing().jwks.keys };
    },
  );
};
