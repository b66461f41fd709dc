import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../config.ts';
import { parseTileLayer, TileConfigError } from './console-tiles.ts';

describe('parseTileLayer (CONSOLE_TILE_URL, CONSOLE_TILE_ATTRIBUTION)', () => {
  test('no URL: no tiles', () => {
    assert.equal(parseTileLayer(undefined, undefined), undefined);
    assert.equal(parseTileLayer('', 'x'), undefined);
  });

  test('an https template: its origin for the CSP and the attribution', () => {
    assert.deepEqual(parseTileLayer('https://tile.example.org/osm/{z}/{x}/{y}.png', ' © OSM '), {
      url: 'https://tile.example.org/osm/{z}/{x}/{y}.png',
      origin: 'https://tile.example.org',
      attribution: '© OSM',
    });
    assert.equal(
      parseTileLayer('http://127.0.0.1:9999/{z}/{x}/{y}.png', 'local')?.origin,
      'http://127.0.0.1:9999',
    );
  });

  test('refused with a message naming the variable', () => {
    const cases: [string, string | undefined, RegExp][] = [
      ['not a url {z}{x}{y}', 'a', /CONSOLE_TILE_URL: not a URL/],
      ['http://tiles.example/{z}/{x}/{y}.png', 'a', /must be https/],
      ['https://u:p@tiles.example/{z}/{x}/{y}.png', 'a', /no credentials/],
      ['https://tiles.example/{z}/{x}.png', 'a', /must contain \{y\}/],
      ['https://{s}.tiles.example/{z}/{x}/{y}.png', 'a', /not \{s\}/],
      ['https://tiles.example/{z}/{x}/{y}.png', undefined, /CONSOLE_TILE_ATTRIBUTION: required/],
      ['https://tiles.example/{z}/{x}/{y}.png', '  ', /CONSOLE_TILE_ATTRIBUTION: required/],
    ];
    for (const [url, attribution, message] of cases) {
      assert.throws(
        () => parseTileLayer(url, attribution),
        (err: Error) => {
          assert.ok(err instanceof TileConfigError);
          assert.match(err.message, message, url);
          return true;
        },
      );
    }
  });

  test('loadConfig: tiles only when configured, a bad template refused at start naming the variable', () => {
    assert.equal(loadConfig({}).consoleTiles, undefined);
    const env = { CONSOLE_TILE_URL: 'https://t.example/{z}/{x}/{y}.png', CONSOLE_TILE_ATTRIBUTION: '© T' };
    assert.equal(loadConfig(env).consoleTiles?.origin, 'https://t.example');
    assert.throws(
      () => loadConfig({ ...env, CONSOLE_TILE_URL: 'http://t.example/{z}/{x}/{y}.png' }),
      (err: Error) => err instanceof ConfigError && /CONSOLE_TILE_URL: must be https/.test(err.message),
    );
  });
});
