/**
 * Throttling that fits the network (issue "No lead lost to a sender's mistake", item 13): an IPv6 client is counted by
 * its /64, so rotating addresses inside one /64 does not evade the sign-in throttle.
 */
import { describe, expect, it } from 'vitest';
import { networkOf } from '../src/shared/request';
import { ADMIN, call } from './helpers';

const BASE = 'https://adapter.test';

describe('the network of an address', () => {
  it('is an IPv4 address itself, an IPv6 address its /64 (in any spelling), an IPv4-mapped address its IPv4', () => {
    expect(networkOf('198.51.100.7')).toBe('198.51.100.7');
    expect(networkOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:0db8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:DB8:1:2::FFFF')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(networkOf('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(networkOf('unknown')).toBe('unknown');
    expect(networkOf('not:an:address')).toBe('not:an:address');
  });
});

describe('the admin throttle over IPv6', () => {
  it('counts every address of one /64 as one client: the 11th guess is 429 from a fresh address of the same /64', async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const ip = `${prefix}:${(i + 1).toString(16)}::${(i * 7 + 3).toString(16)}`;
      statuses.push(
        (
          await call(
            new Request(`${BASE}/admin/endpoints`, {
              headers: { authorization: `Bearer guess-${i}`, 'cf-connecting-ip': ip },
            }),
          )
        ).status,
      );
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    // the right token from yet another address of that /64 waits too; another /64 is not held back
    expect(
      (
        await call(
          new Request(`${BASE}/admin/endpoints`, { headers: { ...ADMIN, 'cf-connecting-ip': `${prefix}:ffff::1` } }),
        )
      ).status,
    ).toBe(429);
    expect(
      (
        await call(
          new Request(`${BASE}/admin/endpoints`, {
            headers: { ...ADMIN, 'cf-connecting-ip': '2001:db8:ffff:fffe::1' },
          }),
        )
      ).status,
    ).toBe(200);
  });
});

describe('failed attempts counted as they happen', () => {
  const failures = async () =>
    (
      await (
        await call(
          new Request(`${BASE}/admin/auth-failures`, { headers: { ...ADMIN, 'cf-connecting-ip': '192.0.2.200' } }),
        )
      ).json<{ admin: number }>()
    ).admin;

  it('every failed and every throttled attempt is in /admin/auth-failures at once, without waiting for a later failure', async () => {
    const before = await failures();
    const ip = `192.0.2.${10 + Math.floor(Math.random() * 150)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      statuses.push(
        (
          await call(
            new Request(`${BASE}/admin/endpoints`, {
              headers: { authorization: `Bearer guess-${i}`, 'cf-connecting-ip': ip },
            }),
          )
        ).status,
      );
    }
    expect(statuses.filter((s) => s === 429).length).toBe(3);
    // 10 refused with 401 and 3 throttled with 429: all 13 counted, none left in an isolate's memory
    expect((await failures()) - before).toBe(13);
  });
});
