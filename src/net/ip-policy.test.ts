import { describe, expect, it } from 'vitest';
import { createIpPolicy, describeBlocked, literalHost, parseIp } from './ip-policy';

const strict = createIpPolicy([]);
const range = (address: string, policy = strict) => policy.check(address)?.range ?? 'allowed';

describe('ip policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fec0::1', 'site-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    // IPv4-mapped, -compatible, SIIT, NAT64 and 6to4 forms carry the v4 address's range.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::127.0.0.1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::', 'private'],
  ])('blocks %s as %s', (address, expected) => {
    expect(range(address)).toBe(expected);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '192.0.2.1',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '100.63.255.255',
    '11.0.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:db8::1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    'fbff::1',
    'fe7f::1',
  ])('allows %s', (address) => {
    expect(range(address)).toBe('allowed');
  });

  it('lets allowed_networks through, a v4 CIDR matching the v4-mapped and NAT64 forms too', () => {
    const policy = createIpPolicy(['127.0.0.0/8', '10.1.0.0/16', 'fd00::/8', '169.254.169.254/32']);
    expect(range('127.0.0.1', policy)).toBe('allowed');
    expect(range('::ffff:127.0.0.1', policy)).toBe('allowed');
    expect(range('::ffff:7f00:1', policy)).toBe('allowed');
    expect(range('64:ff9b::7f00:1', policy)).toBe('allowed');
    expect(range('10.1.2.3', policy)).toBe('allowed');
    expect(range('10.2.0.1', policy)).toBe('private');
    expect(range('fd12::1', policy)).toBe('allowed');
    expect(range('fc00::1', policy)).toBe('unique-local');
    expect(range('169.254.169.254', policy)).toBe('allowed');
    expect(range('169.254.169.253', policy)).toBe('link-local');
    expect(range('::1', policy)).toBe('loopback');
  });

  it('reads a v6 CIDR over the mapped range as covering v4 addresses', () => {
    expect(range('192.168.0.7', createIpPolicy(['::ffff:192.168.0.0/120']))).toBe('allowed');
    expect(range('192.168.1.7', createIpPolicy(['::ffff:192.168.0.0/120']))).toBe('private');
  });

  it('names the range, and the v4 address a v6 form stands for', () => {
    expect(describeBlocked(strict.check('127.0.0.1')!)).toBe('127.0.0.1 is a loopback address');
    expect(describeBlocked(strict.check('0.0.0.0')!)).toBe('0.0.0.0 is an unspecified address');
    expect(describeBlocked(strict.check('fc00::1')!)).toBe('fc00::1 is a unique-local address');
    expect(describeBlocked(strict.check('::ffff:7f00:1')!)).toBe('::ffff:7f00:1 stands for 127.0.0.1, a loopback address');
    expect(describeBlocked(strict.check('64:ff9b::a00:1')!)).toBe('64:ff9b::a00:1 stands for 10.0.0.1, a private address');
    expect(describeBlocked(strict.check('::1')!)).toBe('::1 is a loopback address');
    expect(describeBlocked(strict.check('10.0.0.1')!, 'db.internal')).toBe('db.internal resolved to 10.0.0.1, a private address');
    expect(describeBlocked(strict.check('::ffff:a00:1')!, 'x.test')).toBe(
      'x.test resolved to ::ffff:a00:1, which stands for 10.0.0.1, a private address',
    );
  });

  it('parses every IPv6 spelling to the same bits', () => {
    expect(parseIp('::ffff:127.0.0.1')).toBe(parseIp('::ffff:7f00:1'));
    expect(parseIp('0:0:0:0:0:ffff:7f00:1')).toBe(parseIp('127.0.0.1'));
    expect(parseIp('::')).toBe(0n);
    expect(parseIp('::1')).toBe(1n);
    expect(parseIp('1::')).toBe(1n << 112n);
    expect(parseIp('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    expect(parseIp('1:2:3:4:5:6:1.2.3.4')).toBe(0x00010002000300040005000601020304n);
    expect(() => parseIp('localhost')).toThrow(/not an IP address/);
    expect(() => parseIp('1.2.3.256')).toThrow(/not an IP address/);
  });

  // WHATWG URL (new URL) already normalises these; the guard relies on it and this pins it.
  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://127.0.0.1./', '127.0.0.1'],
    ['http://%31%32%37.0.0.1/', '127.0.0.1'],
    ['http://０x7f.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:0:0:1]:8080/x', '::1'],
    ['https://example.com/', null],
    ['http://localhost:3000/', null],
  ])('reads the literal host of %s as %s', (url, expected) => {
    expect(literalHost(url)).toBe(expected);
  });
});
