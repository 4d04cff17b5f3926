// Policy routing rules (`ip rule`): which routing table a packet is looked up in, chosen by
// source, destination, firewall mark and interfaces; or blackhole/unreachable/prohibit.
import type { Connection } from '../connection.js';
import { ArgumentError } from '../errors.js';
import { formatAddress, parsePrefix, type IpFamily } from '../ip.js';
import { NLM_F_CREATE, NLM_F_EXCL } from '../netlink/message.js';
import { decodeRule, encodeRule, type RuleMessage } from '../netlink/rule.js';
import * as rt from '../netlink/rtnetlink.js';
import { netnsLabel, withConnection, type NetnsOption } from '../target.js';
import { MAX_U32 } from '../validate.js';
import { flag, ifname, ipFamily, ipPrefix, netnsShape, u32 } from '../fields.js';
import { integer, object, oneOf, optional, fieldPath } from '../schema.js';

/**
 * What a rule does with the packets it matches: 'table' looks up its table; 'blackhole',
 * 'unreachable' and 'prohibit' drop them (silently, with ICMP unreachable, with ICMP
 * prohibited); 'nop' does nothing.
 */
export type RuleAction = 'table' | 'blackhole' | 'unreachable' | 'prohibit' | 'nop';

// Record<RuleAction, ...>: the compiler holds this table and the union above to the same names.
const ACTIONS: Readonly<Record<RuleAction, number>> = { table: rt.FR_ACT_TO_TBL, blackhole: rt.FR_ACT_BLACKHOLE, unreachable: rt.FR_ACT_UNREACHABLE, prohibit: rt.FR_ACT_PROHIBIT, nop: rt.FR_ACT_NOP };

/** A rule as addRule/deleteRule take it (`ip rule add from PREFIX to PREFIX fwmark M/MASK iif DEV oif DEV table T priority P`). */
export interface RuleSpec extends NetnsOption {
  /** Source prefix; default all. */
  from?: string;
  /** Destination prefix; default all. */
  to?: string;
  /** Firewall mark to match. */
  fwmark?: number;
  /** Mask applied to the mark before comparing (default all bits). */
  fwmask?: number;
  /** Incoming interface, by name (it need not exist yet). */
  iif?: string;
  /** Outgoing interface, by name (for sockets bound to it). */
  oif?: string;
  /** The table to look up (action 'table'; default main). */
  table?: number;
  /** Preference: lower runs first. Without it the kernel picks one below the first rule after 0. */
  priority?: number;
  /** 'table' (the default) or a verdict: 'blackhole', 'unreachable', 'prohibit'; 'nop' does nothing. */
  action?: RuleAction;
  /** For a rule without addresses: the family (default 4). */
  family?: IpFamily;
  /** `not`: the rule applies to packets that do not match. */
  invert?: boolean;
}

const ruleHints = {
  src: 'from', source: 'from', dst: 'to', destination: 'to', mark: 'fwmark', mask: 'fwmask', dev: 'iif', iifname: 'iif',
  oifname: 'oif', lookup: 'table', pref: 'priority', preference: 'priority', prio: 'priority', type: 'action', not: 'invert', ns: 'netns',
};

/** The family the rule's fields agree on; refuses a mix. */
function ruleFamily(spec: RuleSpec, path = ''): IpFamily {
  const at = (k: string) => fieldPath(path, k);
  const from = spec.from !== undefined ? parsePrefix(spec.from, at('from')).family : undefined;
  const to = spec.to !== undefined ? parsePrefix(spec.to, at('to')).family : undefined;
  const family = from ?? to ?? spec.family ?? 4;
  for (const [k, f] of [['from', from], ['to', to], ['family', spec.family]] as const) {
    if (f !== undefined && f !== family) throw new ArgumentError('ERR_INVALID_ADDRESS', at(k), `is IPv${f}, the rule is IPv${family}`);
  }
  return family;
}

export const ruleSpec = object<RuleSpec>(
  'a rule',
  {
    ...netnsShape,
    from: optional(ipPrefix),
    to: optional(ipPrefix),
    fwmark: optional(u32),
    fwmask: optional(u32),
    iif: optional(ifname),
    oif: optional(ifname),
    table: optional(integer(1, MAX_U32, 'ERR_INVALID_ROUTE_TABLE')),
    priority: optional(u32),
    action: optional(oneOf(Object.keys(ACTIONS) as RuleAction[])),
    family: optional(ipFamily),
    invert: optional(flag),
  },
  {
    hints: ruleHints,
    refine: (r, path) => {
      ruleFamily(r, path);
      const at = (k: string) => fieldPath(path, k);
      if (r.fwmask !== undefined && r.fwmark === undefined) throw new ArgumentError('ERR_INVALID_ARG_VALUE', at('fwmask'), 'a mask needs an fwmark');
      if (r.table !== undefined && r.action !== undefined && r.action !== 'table') {
        throw new ArgumentError('ERR_INVALID_ARG_VALUE', at('table'), `a ${r.action} rule looks up no table`);
      }
    },
  },
);

/** A rule as listRules describes it (the fields of `ip -json rule`). */
export interface RuleInfo {
  family: IpFamily;
  priority: number;
  /** Source prefix, or 'all'. */
  from: string;
  to?: string;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
  /** The table looked up (action 'table'). */
  table?: number;
  action: string;
  invert: boolean;
  /** Who added it: 'kernel' for the default rules, 'unspec' or a number otherwise. */
  protocol?: string;
  netns?: string;
}

/** @internal the rule message for a checked spec (exported for the codec tests). */
export function ruleMessage(spec: RuleSpec): Partial<RuleMessage> {
  const family = ruleFamily(spec);
  const action = spec.action ?? 'table';
  const table = action === 'table' ? spec.table ?? rt.RT_TABLE_MAIN : 0;
  const m: Partial<RuleMessage> = {
    family: family === 4 ? rt.AF_INET : rt.AF_INET6,
    dstLen: 0,
    srcLen: 0,
    tos: 0,
    // As ip: ids that fit in 8 bits go in the header, others in FRA_TABLE.
    table: table < 256 ? table : rt.RT_TABLE_UNSPEC,
    action: ACTIONS[action],
    flags: spec.invert ? rt.FIB_RULE_INVERT : 0,
  };
  if (spec.from !== undefined) {
    const p = parsePrefix(spec.from, 'from');
    m.src = p.bytes;
    m.srcLen = p.prefixLen;
  }
  if (spec.to !== undefined) {
    const p = parsePrefix(spec.to, 'to');
    m.dst = p.bytes;
    m.dstLen = p.prefixLen;
  }
  if (spec.fwmark !== undefined) m.fwmark = spec.fwmark;
  if (spec.fwmask !== undefined) m.fwmask = spec.fwmask;
  if (spec.iif !== undefined) m.iifname = spec.iif;
  if (spec.oif !== undefined) m.oifname = spec.oif;
  if (spec.priority !== undefined) m.priority = spec.priority;
  if (table >= 256) m.tableId = table;
  return m;
}

function label(spec: RuleSpec): string {
  const parts = [spec.invert ? 'not' : '', `from ${spec.from ?? 'all'}`, spec.to ? `to ${spec.to}` : '', spec.fwmark !== undefined ? `fwmark ${spec.fwmark}` : '', spec.priority !== undefined ? `priority ${spec.priority}` : ''];
  return parts.filter(Boolean).join(' ');
}

async function sendRule(type: number, flags: number, spec: RuleSpec): Promise<void> {
  ruleSpec.check(spec, '');
  const m = ruleMessage(spec);
  await withConnection(spec.netns, (conn) =>
    conn.request((w, seq) => encodeRule(w, type, flags, seq, m), { operation: rt.rtmName(type), object: label(spec), inline: true }),
  );
}

/**
 * Adds a policy routing rule (`ip rule add`); EEXIST if an identical rule exists.
 *
 * @example
 * ```ts
 * await addRule({ from: '10.0.0.0/8', table: 100, priority: 100 });          // ip rule add from 10.0.0.0/8 table 100 priority 100
 * await addRule({ fwmark: 0x10, fwmask: 0xff, table: 200 });
 * await addRule({ to: '192.0.2.0/24', action: 'blackhole', priority: 50 });
 * ```
 */
export const addRule = (spec: RuleSpec): Promise<void> => sendRule(rt.RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, spec);

/**
 * Deletes the first rule that matches every given field (`ip rule del`); ENOENT if none.
 *
 * @example
 * ```ts
 * await deleteRule({ from: '10.0.0.0/8', table: 100, priority: 100 });
 * ```
 */
export const deleteRule = (spec: RuleSpec): Promise<void> => sendRule(rt.RTM_DELRULE, 0, spec);

/** Options of listRules(). */
export interface ListRulesOptions extends NetnsOption {
  /** Default 4, as `ip rule` (`ip -6 rule` is family 6). */
  family?: IpFamily;
}

const listRulesOptions = object<ListRulesOptions>('listRules options', { ...netnsShape, family: optional(ipFamily) }, { hints: { ns: 'netns' } });

async function dumpRuleMessages(conn: Connection, family: number): Promise<RuleMessage[]> {
  const msgs = await conn.dump(
    (w, seq) => encodeRule(w, rt.RTM_GETRULE, 0, seq, { family, dstLen: 0, srcLen: 0, tos: 0, table: 0, action: 0, flags: 0 }),
    { operation: 'RTM_GETRULE' },
  );
  return msgs.filter((m) => m.type === rt.RTM_NEWRULE).map(decodeRule);
}

const ACTION_NAMES = new Map<number, string>([...Object.entries(ACTIONS).map(([k, v]) => [v, k] as [number, string]), [rt.FR_ACT_GOTO, 'goto']]);
const RULE_PROTOCOLS: Record<number, string> = { 0: 'unspec', 2: 'kernel', 3: 'boot', 4: 'static' };

/**
 * The rules of one family, in the order the kernel applies them (`ip rule show`).
 *
 * @example
 * ```ts
 * const rules = await listRules();
 * // [{ family: 4, priority: 0, from: 'all', table: 255, action: 'table', invert: false, protocol: 'kernel' }, ...]
 * ```
 */
export async function listRules(opts: ListRulesOptions = {}): Promise<RuleInfo[]> {
  listRulesOptions.check(opts, '');
  const family = opts.family === 6 ? rt.AF_INET6 : rt.AF_INET;
  return withConnection(opts.netns, async (conn) => (await dumpRuleMessages(conn, family)).map((r) => describeRule(r, netnsLabel(opts.netns))));
}

export function describeRule(r: RuleMessage, netns?: string): RuleInfo {
  const info: RuleInfo = {
    family: r.family === rt.AF_INET6 ? 6 : 4,
    priority: r.priority ?? 0,
    from: r.src && r.srcLen > 0 ? `${formatAddress(r.src)}/${r.srcLen}` : 'all',
    action: ACTION_NAMES.get(r.action) ?? String(r.action),
    invert: (r.flags & rt.FIB_RULE_INVERT) !== 0,
  };
  if (r.dst && r.dstLen > 0) info.to = `${formatAddress(r.dst)}/${r.dstLen}`;
  if (r.fwmark !== undefined) info.fwmark = r.fwmark;
  if (r.fwmask !== undefined) info.fwmask = r.fwmask;
  if (r.iifname !== undefined) info.iif = r.iifname;
  if (r.oifname !== undefined) info.oif = r.oifname;
  if (r.action === rt.FR_ACT_TO_TBL) info.table = r.tableId ?? r.table;
  if (r.protocol !== undefined) info.protocol = RULE_PROTOCOLS[r.protocol] ?? String(r.protocol);
  if (netns !== undefined) info.netns = netns;
  return info;
}
