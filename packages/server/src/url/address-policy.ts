/**
 * Which network addresses `image_url` may reach. Server-side request forgery is the risk: a URL naming (or a DNS
 * name resolving to) loopback, a private network, link-local or a cloud metadata service would let a caller read
 * internal services through us. Every resolved address is checked, IPv4 and IPv6. An IPv6 address that a
 * translator, tunnel or dual stack turns into an IPv4 one is also checked as the IPv4 it carries: IPv4-mapped
 * `::ffff:a.b.c.d`, SIIT IPv4-translated `::ffff:0:a.b.c.d` (RFC 6145), IPv4-compatible `::a.b.c.d`, well-known
 * NAT64 `64:ff9b::/96` (RFC 6052) and 6to4 `2002:AABB:CCDD::/48` (RFC 3056, the IPv4 in bits 16–47). The
 * local-use NAT64 prefix `64:ff9b:1::/48` (RFC 8215) is refused whole: its operator chooses where the IPv4 sits
 * in it, and it exists to reach a local network.
 * @module
 */
import { BlockList, isIP } from 'node:net';

/** IPv4 ranges never reached unless allow-listed, with why. */
const FORBIDDEN_V4: ReadonlyArray<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified/"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (includes the cloud metadata service 169.254.169.254)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved/broadcast'],
];

/** IPv6 ranges never reached unless allow-listed. */
const FORBIDDEN_V6: ReadonlyArray<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'local-use NAT64 (RFC 8215; translates to IPv4 addresses of a local network)'],
  ['100::', 64, 'discard-only'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'unique local (private; includes the AWS metadata service fd00:ec2::254)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated)'],
  ['ff00::', 8, 'multicast'],
];

/** Why an address is refused, or `undefined` when it may be reached. */
export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/** An allow-list entry is neither a host name, an IP address nor a CIDR. */
export class AllowlistError extends Error {
  constructor(entry: string) {
    super(`not a host name, IP address or CIDR: ${JSON.stringify(entry)}`);
    this.name = 'AllowlistError';
  }
}

function familyOf(address: string): 'ipv4' | 'ipv6' | undefined {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** Expands an IPv6 address to its eight 16-bit groups (`undefined` if it is not IPv6). */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.split('%')[0] ?? address;
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const b = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  const groups = [...h, ...zeros, ...t].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 ? groups : undefined;
}

/**
 * The IPv4 address an IPv6 address carries, for the embeddings that route to it: IPv4-mapped (`::ffff:0:0/96`),
 * SIIT IPv4-translated (`::ffff:0:0:0/96`), IPv4-compatible (`::/96`, deprecated but still parsed by stacks),
 * well-known NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`, the IPv4 in bits 16–47). Local-use NAT64
 * (`64:ff9b:1::/48`) is not read: where it puts the IPv4 is the operator's choice, so it is refused as a whole.
 */
export function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  const [a, b, c, d, e, f, hi, lo] = g as [number, number, number, number, number, number, number, number];
  const dotted = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  // 6to4: the router at that IPv4 address decapsulates, so the IPv4 is where the packet ends up.
  if (a === 0x2002) return dotted(b, c);
  const zeroHead = a === 0 && b === 0 && c === 0 && d === 0;
  const mapped = zeroHead && e === 0 && f === 0xffff;
  const translated = zeroHead && e === 0xffff && f === 0;
  const compatible = zeroHead && e === 0 && f === 0 && (hi !== 0 || lo > 1);
  const nat64 = a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0;
  if (!mapped && !translated && !compatible && !nat64) return undefined;
  return dotted(hi, lo);
}

/**
 * Decides whether `image_url` may connect to an address.
 *
 * @example
 * ```ts
 * const policy = new AddressPolicy(['images.internal', '10.1.0.0/16']);
 * policy.check('169.254.169.254'); // { allowed: false, reason: 'link-local (includes the cloud metadata …)' }
 * policy.check('10.1.2.3');        // { allowed: true } (allow-listed)
 * ```
 */
export class AddressPolicy {
  readonly #forbidden = new BlockList();
  readonly #reasons: Array<{ list: BlockList; reason: string }> = [];
  readonly #allowedNets = new BlockList();
  readonly #allowedHosts = new Set<string>();

  /**
   * @param allowlist host names (exact, case-insensitive), IP addresses or CIDRs (`10.0.0.0/8`, `fd00::/8`) that
   *   may be reached even though they are private or loopback.
   * @throws {@link AllowlistError} for an entry that is none of those.
   */
  constructor(allowlist: readonly string[] = []) {
    for (const [net, prefix, reason] of FORBIDDEN_V4) this.#addForbidden(net, prefix, 'ipv4', reason);
    for (const [net, prefix, reason] of FORBIDDEN_V6) this.#addForbidden(net, prefix, 'ipv6', reason);
    for (const entry of allowlist) {
      const [net, prefixText] = entry.split('/');
      const family = net === undefined ? undefined : familyOf(net);
      if (family && net) {
        const max = family === 'ipv4' ? 32 : 128;
        const prefix = prefixText === undefined ? max : Number(prefixText);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new AllowlistError(entry);
        this.#allowedNets.addSubnet(net, prefix, family);
      } else if (prefixText === undefined && /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(entry)) {
        this.#allowedHosts.add(entry.toLowerCase());
      } else {
        throw new AllowlistError(entry);
      }
    }
  }

  #addForbidden(net: string, prefix: number, family: 'ipv4' | 'ipv6', reason: string): void {
    const list = new BlockList();
    list.addSubnet(net, prefix, family);
    this.#forbidden.addSubnet(net, prefix, family);
    this.#reasons.push({ list, reason });
  }

  /** Whether a host name is allow-listed by name (then every address it resolves to is allowed). */
  isHostAllowed(hostname: string): boolean {
    return this.#allowedHosts.has(hostname.toLowerCase().replace(/\.$/, ''));
  }

  /** Checks one IP address (IPv4 or IPv6). Anything that is not an IP address is refused. */
  check(address: string, hostname?: string): AddressVerdict {
    if (hostname !== undefined && this.isHostAllowed(hostname)) return { allowed: true };
    const family = familyOf(address);
    if (!family) return { allowed: false, reason: 'not an IP address' };
    const candidates = [{ address, family }];
    const v4 = family === 'ipv6' ? embeddedIPv4(address) : undefined;
    if (v4) candidates.push({ address: v4, family: 'ipv4' });
    if (candidates.every((c) => this.#allowedNets.check(c.address, c.family))) return { allowed: true };
    for (const c of candidates) {
      if (this.#allowedNets.check(c.address, c.family)) continue;
      if (this.#forbidden.check(c.address, c.family)) {
        const reason = this.#reasons.find((r) => r.list.check(c.address, c.family))?.reason ?? 'reserved';
        return {
          allowed: false,
          reason: c.address === address ? reason : `${reason} (embedded IPv4 ${c.address})`,
        };
      }
    }
    return { allowed: true };
  }
}
