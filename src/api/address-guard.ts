// Which addresses a fetched photo URL may connect to: public unicast only.
// IPv4: IANA's special-purpose registry (RFC 6890 and updates) is refused.
// IPv6: an allow-list first — only global unicast 2000::/3 is public — so every range
// outside it is refused without naming it: unspecified, loopback, IPv4-compatible
// (::/96, e.g. [::127.0.0.1]), IPv4-mapped (::ffff:0:0/96) and -translated,
// NAT64 (64:ff9b::/96, 64:ff9b:1::/48), discard (100::/64), SRv6 (5f00::/16),
// unique-local (fc00::/7), site-local (fec0::/10), link-local (fe80::/10), multicast.
// Inside 2000::/3 the special-purpose blocks are refused too: 2001::/23 (Teredo,
// benchmarking, ORCHID…), documentation (2001:db8::/32, 3fff::/20) and 6to4 (2002::/16,
// which tunnels to any IPv4 address, private ones included).
import { BlockList, isIP } from 'node:net';

// Two lists: a BlockList checks an IPv4 address against its IPv6 rules too (as
// ::ffff:a.b.c.d), which ::/3 would always match.
const blocked4 = new BlockList();
const blocked6 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked4.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  // everything but 2000::/3
  ['::', 3], ['4000::', 2], ['8000::', 1],
  // special-purpose blocks inside 2000::/3
  ['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['3fff::', 20],
] as const) blocked6.addSubnet(net, bits, 'ipv6');

/** True unless `address` is a literal public unicast IPv4 or IPv6 address. */
export function isPrivateAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) return blocked4.check(address, 'ipv4');
  if (v === 6) return blocked6.check(address, 'ipv6');
  return true;
}
