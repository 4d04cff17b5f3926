// Link kinds: what goes inside IFLA_INFO_DATA depends on IFLA_INFO_KIND, so each kind has a
// small codec of its own (one file per kind, like jsimonetti/rtnetlink's driver/*.go) and
// link.ts looks them up here. Kinds without a codec keep IFLA_INFO_DATA as raw bytes.
import type { AttrWriter, ByteWriter } from '../attributes.js';
import type { LinkMessage } from '../link.js';
import { bridge, type BridgeInfoData } from './bridge.js';
import { macvlan, type MacvlanInfoData } from './macvlan.js';
import { veth, type VethInfoData } from './veth.js';
import { vxlan, type VxlanInfoData } from './vxlan.js';

export type { BridgeInfoData, MacvlanInfoData, VethInfoData, VxlanInfoData };

/** What IFLA_INFO_DATA decodes to: a kind's object, or the raw payload for other kinds. */
export type LinkInfoData = VethInfoData | BridgeInfoData | MacvlanInfoData | VxlanInfoData | Buffer;

/**
 * The ifinfomsg codec, handed to kind codecs because a veth peer is a whole link message.
 * Passing it in (rather than importing link.ts) keeps the module graph acyclic.
 */
export interface LinkBodyCodec {
  encode(w: ByteWriter, m: Partial<LinkMessage>): void;
  decode(buf: Buffer): LinkMessage;
}

export interface LinkKindCodec<D = unknown> {
  readonly kind: string;
  /** Writes the children of IFLA_INFO_DATA (the nest itself is written by the caller). */
  encodeData(a: AttrWriter, data: D, link: LinkBodyCodec): void;
  /** Decodes the payload of IFLA_INFO_DATA. Throws DecodeError on malformed input. */
  decodeData(buf: Buffer, link: LinkBodyCodec): D;
}

// `any`: each entry has its own data type; link.ts pairs them by kind at runtime.
export const linkKinds = new Map<string, LinkKindCodec<any>>(
  [veth, bridge, macvlan, vxlan].map((codec) => [codec.kind, codec]),
);
