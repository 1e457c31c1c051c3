/** Where `kosmo-vero serve`'s client tokens come from, the rules they must meet, and checking a presented one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientTokens, TokenVerifier } from '../../src/mcp/client-tokens.js';
import { parseRuntimeConfig } from '../../src/runtime/config.js';
import { exposed } from '../support/canary.js';

const A = 'CANARY-serve-token-a-0123456789';
const B = 'CANARY-serve-token-b-0123456789';
const C = 'CANARY-serve-token-c-0123456789';

const config = (tokens: unknown) => parseRuntimeConfig({ serve: { tokens } }, 'config file test.json');

describe('client tokens', () => {
  it('come from both variables and the config file, labelled, with their policies', () => {
    const tokens = clientTokens(
      { KOSMO_VERO_SERVE_TOKENS: ` ${A} ,${B}`, KOSMO_VERO_SERVE_READ_ONLY_TOKENS: C },
      config([
        { token: `${A}x`, label: 'ci', policy: 'read-only' },
        { token: `${B}x`, label: 'ops' },
      ]),
    );
    assert.deepEqual(
      tokens.map(({ label, policy }) => `${label} ${policy}`),
      ['env-1 full', 'env-2 full', 'read-only-1 read-only', 'ci read-only', 'ops full'],
    );
    assert.equal(tokens[0]?.token, A, 'spaces around a token are not part of it');
  });

  const refusals: Array<[string, Record<string, string>, unknown, RegExp]> = [
    ['none at all', {}, undefined, /^no client tokens: set KOSMO_VERO_SERVE_TOKENS .* or serve\.tokens/],
    [
      'an empty entry',
      { KOSMO_VERO_SERVE_TOKENS: `${A},` },
      undefined,
      /"env-2" is shorter than 16 characters/,
    ],
    ['a short one', {}, [{ token: 'CANARY-short', label: 'ci' }], /"ci" is shorter than 16 characters/],
    [
      'characters a bearer token cannot carry',
      {},
      [{ token: `${A} ${B}`, label: 'ci' }],
      /"ci" has characters a bearer token cannot carry/,
    ],
    [
      'the same token twice',
      { KOSMO_VERO_SERVE_TOKENS: A },
      [{ token: A, label: 'ci' }],
      /"ci" is the same as an earlier one/,
    ],
    [
      'the same label twice',
      {},
      [
        { token: A, label: 'ci' },
        { token: B, label: 'ci' },
      ],
      /label "ci" is used twice/,
    ],
    ['a label logs cannot show', {}, [{ token: A, label: 'ci\n' }], /label "ci\\n" must be 1 to 64 letters/],
  ];
  for (const [what, env, tokens, message] of refusals) {
    it(`refuses ${what}, naming the token by its label, never showing it`, () => {
      const error = (() => {
        try {
          clientTokens(env, tokens === undefined ? undefined : config(tokens));
        } catch (caught) {
          return caught as Error & { code: string };
        }
        assert.fail('accepted');
      })();
      assert.equal(error.code, 'invalid_config');
      assert.match(error.message, message);
      assert.ok(!/CANARY/.test(exposed(error)), 'a token in the error');
    });
  }

  it('a policy that does not exist is a config error naming the field', () => {
    assert.throws(
      () => config([{ token: A, label: 'ci', policy: 'admin' }]),
      /config file test\.json: serve\.tokens\.0\.policy: Invalid option/,
    );
  });
});

describe('TokenVerifier', () => {
  const verifier = new TokenVerifier(
    clientTokens({ KOSMO_VERO_SERVE_TOKENS: A }, config([{ token: B, label: 'ci', policy: 'read-only' }])),
  );
  const cases: Array<[string | undefined, ReturnType<TokenVerifier['verify']>]> = [
    [`Bearer ${A}`, { label: 'env-1', policy: 'full' }],
    [`bearer ${B}`, { label: 'ci', policy: 'read-only' }],
    [undefined, 'missing'],
    ['', 'missing'],
    ['Bearer', 'missing'],
    [`Basic ${A}`, 'missing'],
    [`Bearer ${A}x`, 'invalid'],
    [`Bearer ${A.slice(0, -1)}`, 'invalid'],
    [`Bearer ${C}`, 'invalid'],
    [`Bearer ${A} ${B}`, 'missing'],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)?.replaceAll('CANARY-serve-token-', '') ?? 'no header'} is ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(verifier.verify(header), expected);
    });
  }
});
