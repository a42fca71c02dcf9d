// Route resolution for server metrics: which route a finished request is counted under, and
// how a raw path becomes a route when no framework named one.

import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { frameworkRoute, normalizePath, routeOf, UNMATCHED } from '../agent/http/route';

const req = (fields: Record<string, unknown> = {}) => fields as unknown as IncomingMessage;

describe('normalizePath', () => {
  it('keeps a path without IDs as it is, and returns the same string', () => {
    const url = '/api/v1/users/me';
    expect(normalizePath(url)).toBe(url);
    expect(normalizePath('/')).toBe('/');
  });

  it('drops the query string and a fragment', () => {
    expect(normalizePath('/search?q=1&page=2')).toBe('/search');
    expect(normalizePath('/a/b#frag')).toBe('/a/b');
    expect(normalizePath('/?x=1')).toBe('/');
    expect(normalizePath('/users/42?expand=true')).toBe('/users/:id');
  });

  it('makes decimal segments :id', () => {
    expect(normalizePath('/users/123')).toBe('/users/:id');
    expect(normalizePath('/users/1/orders/99')).toBe('/users/:id/orders/:id');
    expect(normalizePath('/0')).toBe('/:id');
  });

  it('makes UUIDs :uuid in either case', () => {
    expect(normalizePath('/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toBe('/orders/:uuid');
    expect(normalizePath('/orders/3F2504E0-4F89-11D3-9A0C-0305E82C3301/items')).toBe(
      '/orders/:uuid/items',
    );
  });

  it('makes 16 or more hex digits :hex, and leaves shorter ones', () => {
    expect(normalizePath('/objects/507f1f77bcf86cd799439011')).toBe('/objects/:hex');
    expect(normalizePath('/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709')).toBe('/blobs/:hex');
    expect(normalizePath('/colors/deadbeef')).toBe('/colors/deadbeef');
  });

  it('makes long tokens mixing letters and digits :token, and leaves words', () => {
    expect(normalizePath('/invite/V1StGXR8_Z5jdHi6B-myT')).toBe('/invite/:token');
    expect(normalizePath('/docs/getting-started-with-metrics')).toBe(
      '/docs/getting-started-with-metrics',
    );
    expect(normalizePath('/v2/health')).toBe('/v2/health');
  });

  it('keeps empty segments (double and trailing slashes)', () => {
    expect(normalizePath('/users/7/')).toBe('/users/:id/');
    expect(normalizePath('//users//7')).toBe('//users//:id');
  });

  it('takes the path of an absolute-form URL', () => {
    expect(normalizePath('http://example.com/users/5?x')).toBe('/users/:id');
    expect(normalizePath('https://example.com')).toBe('/');
  });

  it('leaves a request target that is not a path alone', () => {
    expect(normalizePath('*')).toBe('*');
    expect(normalizePath('')).toBe('/');
  });
});

describe('routeOf', () => {
  it('uses the normalized path when no framework named a route', () => {
    expect(routeOf(req(), '/users/12?a=b', 200)).toBe('/users/:id');
  });

  it('counts a 404 without a route as _unmatched, not per URL', () => {
    expect(routeOf(req(), '/wp-login.php', 404)).toBe(UNMATCHED);
    expect(routeOf(req(), '/.env', 404)).toBe(UNMATCHED);
  });

  it("keeps a framework route on a 404 (the route's own not-found)", () => {
    const route = { path: '/users/:id' };
    expect(routeOf(req({ route, baseUrl: '' }), '/users/9', 404)).toBe('/users/:id');
  });
});

describe('Express routes (req.route and req.baseUrl)', () => {
  it('joins baseUrl and the route path', () => {
    expect(frameworkRoute(req({ route: { path: '/items/:id' }, baseUrl: '/api' }))).toBe(
      '/api/items/:id',
    );
    expect(frameworkRoute(req({ route: { path: '/' }, baseUrl: '/api' }))).toBe('/api');
    expect(frameworkRoute(req({ route: { path: '/x' } }))).toBe('/x');
  });

  it('names array and regular-expression routes', () => {
    expect(frameworkRoute(req({ route: { path: ['/a', '/b'] }, baseUrl: '' }))).toBe('/a|/b');
    expect(frameworkRoute(req({ route: { path: /^\/re\/\d+$/ }, baseUrl: '' }))).toBe(
      '/^\\/re\\/\\d+$/',
    );
  });

  it('keeps the mount path for a route whose error left its router (baseUrl restored)', () => {
    const route = { path: '/items/:id' };
    expect(frameworkRoute(req({ route, baseUrl: '/api' }))).toBe('/api/items/:id');
    expect(frameworkRoute(req({ route, baseUrl: '' }))).toBe('/api/items/:id');
  });

  it('follows a route that is served under another mount path', () => {
    const route = { path: '/items/:id' };
    expect(frameworkRoute(req({ route, baseUrl: '/v1' }))).toBe('/v1/items/:id');
    expect(frameworkRoute(req({ route, baseUrl: '/v2' }))).toBe('/v2/items/:id');
  });

  it('ignores a req.route it cannot read a path from', () => {
    expect(frameworkRoute(req({ route: { path: 42 } }))).toBeUndefined();
    expect(frameworkRoute(req({ route: 'x' }))).toBeUndefined();
    expect(frameworkRoute(req())).toBeUndefined();
  });
});
