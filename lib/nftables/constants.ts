// nf_tables / nfnetlink constants, from the kernel's uapi headers:
// linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h, linux/netfilter.h,
// linux/netfilter/nf_nat.h. Only what the masquerade and port-forward codecs use, plus the
// neighbours that make decoded dumps readable; values never change once released.

// --- linux/netfilter.h ---
export const NFPROTO_UNSPEC = 0;
export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_ARP = 3;
export const NFPROTO_NETDEV = 5;
export const NFPROTO_BRIDGE = 7;
export const NFPROTO_IPV6 = 10;

export const NF_DROP = 0;
export const NF_ACCEPT = 1;

export const NF_INET_PRE_ROUTING = 0;
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_LOCAL_OUT = 3;
export const NF_INET_POST_ROUTING = 4;
export const NF_INET_INGRESS = 5;

/** nft's named priorities for the nat type (`priority srcnat` is 100, `dstnat` is -100). */
export const NF_IP_PRI_NAT_DST = -100;
export const NF_IP_PRI_NAT_SRC = 100;

// --- linux/netfilter/nfnetlink.h ---
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_NFTABLES = 10;
/** NLMSG_MIN_TYPE: the batch delimiters are control messages, outside any subsystem. */
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
export const NFNL_BATCH_GENID = 1;
export const NFNLGRP_NFTABLES = 7;

/** struct nfgenmsg: u8 family, u8 version, __be16 res_id. */
export const NFGENMSG_LEN = 4;

// --- linux/netfilter/nf_tables.h: message types (low byte; high byte is the subsystem) ---
export const NFT_MSG_NEWTABLE = 0;
export const NFT_MSG_GETTABLE = 1;
export const NFT_MSG_DELTABLE = 2;
export const NFT_MSG_NEWCHAIN = 3;
export const NFT_MSG_GETCHAIN = 4;
export const NFT_MSG_DELCHAIN = 5;
export const NFT_MSG_NEWRULE = 6;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_DELRULE = 8;
export const NFT_MSG_NEWSET = 9;
export const NFT_MSG_GETSET = 10;
export const NFT_MSG_DELSET = 11;
export const NFT_MSG_NEWSETELEM = 12;
export const NFT_MSG_GETSETELEM = 13;
export const NFT_MSG_DELSETELEM = 14;
export const NFT_MSG_NEWGEN = 15;
export const NFT_MSG_GETGEN = 16;
export const NFT_MSG_TRACE = 17;
export const NFT_MSG_NEWOBJ = 18;
export const NFT_MSG_GETOBJ = 19;
export const NFT_MSG_DELOBJ = 20;
export const NFT_MSG_GETOBJ_RESET = 21;
export const NFT_MSG_NEWFLOWTABLE = 22;
export const NFT_MSG_GETFLOWTABLE = 23;
export const NFT_MSG_DELFLOWTABLE = 24;
// Linux 6.3+: like DEL*, but a missing object is not an error. Not in older uapi headers.
export const NFT_MSG_GETRULE_RESET = 25;
export const NFT_MSG_DESTROYTABLE = 26;
export const NFT_MSG_DESTROYCHAIN = 27;
export const NFT_MSG_DESTROYRULE = 28;

export const NFT_MSG_NAMES: Readonly<Record<number, string>> = {
  [NFT_MSG_NEWTABLE]: 'NFT_MSG_NEWTABLE',
  [NFT_MSG_GETTABLE]: 'NFT_MSG_GETTABLE',
  [NFT_MSG_DELTABLE]: 'NFT_MSG_DELTABLE',
  [NFT_MSG_NEWCHAIN]: 'NFT_MSG_NEWCHAIN',
  [NFT_MSG_GETCHAIN]: 'NFT_MSG_GETCHAIN',
  [NFT_MSG_DELCHAIN]: 'NFT_MSG_DELCHAIN',
  [NFT_MSG_NEWRULE]: 'NFT_MSG_NEWRULE',
  [NFT_MSG_GETRULE]: 'NFT_MSG_GETRULE',
  [NFT_MSG_DELRULE]: 'NFT_MSG_DELRULE',
  [NFT_MSG_NEWSET]: 'NFT_MSG_NEWSET',
  [NFT_MSG_GETSET]: 'NFT_MSG_GETSET',
  [NFT_MSG_DELSET]: 'NFT_MSG_DELSET',
  [NFT_MSG_NEWSETELEM]: 'NFT_MSG_NEWSETELEM',
  [NFT_MSG_GETSETELEM]: 'NFT_MSG_GETSETELEM',
  [NFT_MSG_DELSETELEM]: 'NFT_MSG_DELSETELEM',
  [NFT_MSG_NEWGEN]: 'NFT_MSG_NEWGEN',
  [NFT_MSG_GETGEN]: 'NFT_MSG_GETGEN',
  [NFT_MSG_TRACE]: 'NFT_MSG_TRACE',
  [NFT_MSG_NEWOBJ]: 'NFT_MSG_NEWOBJ',
  [NFT_MSG_GETOBJ]: 'NFT_MSG_GETOBJ',
  [NFT_MSG_DELOBJ]: 'NFT_MSG_DELOBJ',
  [NFT_MSG_GETOBJ_RESET]: 'NFT_MSG_GETOBJ_RESET',
  [NFT_MSG_NEWFLOWTABLE]: 'NFT_MSG_NEWFLOWTABLE',
  [NFT_MSG_GETFLOWTABLE]: 'NFT_MSG_GETFLOWTABLE',
  [NFT_MSG_DELFLOWTABLE]: 'NFT_MSG_DELFLOWTABLE',
  [NFT_MSG_GETRULE_RESET]: 'NFT_MSG_GETRULE_RESET',
  [NFT_MSG_DESTROYTABLE]: 'NFT_MSG_DESTROYTABLE',
  [NFT_MSG_DESTROYCHAIN]: 'NFT_MSG_DESTROYCHAIN',
  [NFT_MSG_DESTROYRULE]: 'NFT_MSG_DESTROYRULE',
};

export const NFT_NAME_MAXLEN = 256;
export const NFT_USERDATA_MAXLEN = 256;
export const NFT_DATA_VALUE_MAXLEN = 64;

// Registers: NFT_REG_1..4 are the 16-byte registers nft uses for these matches.
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG_2 = 2;
export const NFT_REG_3 = 3;
export const NFT_REG_4 = 4;
export const NFT_REG32_00 = 8;
export const NFT_REG_SIZE = 16;

export const NFTA_LIST_ELEM = 1;

export const NFTA_HOOK_HOOKNUM = 1;
export const NFTA_HOOK_PRIORITY = 2;
export const NFTA_HOOK_DEV = 3;
export const NFTA_HOOK_DEVS = 4;

export const NFT_TABLE_F_DORMANT = 0x1;
export const NFT_TABLE_F_OWNER = 0x2;
export const NFT_TABLE_F_PERSIST = 0x4;

export const NFTA_TABLE_NAME = 1;
export const NFTA_TABLE_FLAGS = 2;
export const NFTA_TABLE_USE = 3;
export const NFTA_TABLE_HANDLE = 4;
export const NFTA_TABLE_PAD = 5;
export const NFTA_TABLE_USERDATA = 6;
export const NFTA_TABLE_OWNER = 7;

export const NFT_CHAIN_BASE = 0x1;
export const NFT_CHAIN_HW_OFFLOAD = 0x2;
export const NFT_CHAIN_BINDING = 0x4;

export const NFTA_CHAIN_TABLE = 1;
export const NFTA_CHAIN_HANDLE = 2;
export const NFTA_CHAIN_NAME = 3;
export const NFTA_CHAIN_HOOK = 4;
export const NFTA_CHAIN_POLICY = 5;
export const NFTA_CHAIN_USE = 6;
export const NFTA_CHAIN_TYPE = 7;
export const NFTA_CHAIN_COUNTERS = 8;
export const NFTA_CHAIN_PAD = 9;
export const NFTA_CHAIN_FLAGS = 10;
export const NFTA_CHAIN_ID = 11;
export const NFTA_CHAIN_USERDATA = 12;

export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_HANDLE = 3;
export const NFTA_RULE_EXPRESSIONS = 4;
export const NFTA_RULE_COMPAT = 5;
export const NFTA_RULE_POSITION = 6;
export const NFTA_RULE_USERDATA = 7;
export const NFTA_RULE_PAD = 8;
export const NFTA_RULE_ID = 9;
export const NFTA_RULE_POSITION_ID = 10;
export const NFTA_RULE_CHAIN_ID = 11;

export const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;

export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;

export const NFTA_EXPR_NAME = 1;
export const NFTA_EXPR_DATA = 2;

export const NFTA_IMMEDIATE_DREG = 1;
export const NFTA_IMMEDIATE_DATA = 2;

export const NFT_BITWISE_MASK_XOR = 0;
export const NFT_BITWISE_LSHIFT = 1;
export const NFT_BITWISE_RSHIFT = 2;

export const NFTA_BITWISE_SREG = 1;
export const NFTA_BITWISE_DREG = 2;
export const NFTA_BITWISE_LEN = 3;
export const NFTA_BITWISE_MASK = 4;
export const NFTA_BITWISE_XOR = 5;
export const NFTA_BITWISE_OP = 6;
export const NFTA_BITWISE_DATA = 7;

export const NFT_CMP_EQ = 0;
export const NFT_CMP_NEQ = 1;
export const NFT_CMP_LT = 2;
export const NFT_CMP_LTE = 3;
export const NFT_CMP_GT = 4;
export const NFT_CMP_GTE = 5;

export const NFTA_CMP_SREG = 1;
export const NFTA_CMP_OP = 2;
export const NFTA_CMP_DATA = 3;

export const NFT_PAYLOAD_LL_HEADER = 0;
export const NFT_PAYLOAD_NETWORK_HEADER = 1;
export const NFT_PAYLOAD_TRANSPORT_HEADER = 2;
export const NFT_PAYLOAD_INNER_HEADER = 3;

export const NFTA_PAYLOAD_DREG = 1;
export const NFTA_PAYLOAD_BASE = 2;
export const NFTA_PAYLOAD_OFFSET = 3;
export const NFTA_PAYLOAD_LEN = 4;
export const NFTA_PAYLOAD_SREG = 5;
export const NFTA_PAYLOAD_CSUM_TYPE = 6;
export const NFTA_PAYLOAD_CSUM_OFFSET = 7;
export const NFTA_PAYLOAD_CSUM_FLAGS = 8;

export const NFT_META_LEN = 0;
export const NFT_META_PROTOCOL = 1;
export const NFT_META_PRIORITY = 2;
export const NFT_META_MARK = 3;
export const NFT_META_IIF = 4;
export const NFT_META_OIF = 5;
export const NFT_META_IIFNAME = 6;
export const NFT_META_OIFNAME = 7;

export const NFTA_META_DREG = 1;
export const NFTA_META_KEY = 2;
export const NFTA_META_SREG = 3;

export const NFTA_MASQ_FLAGS = 1;
export const NFTA_MASQ_REG_PROTO_MIN = 2;
export const NFTA_MASQ_REG_PROTO_MAX = 3;

export const NFTA_COUNTER_BYTES = 1;
export const NFTA_COUNTER_PACKETS = 2;

// --- linux/netfilter/nf_nat.h: masquerade flags (`masquerade random,persistent`) ---
export const NF_NAT_RANGE_MAP_IPS = 1 << 0;
export const NF_NAT_RANGE_PROTO_SPECIFIED = 1 << 1;
export const NF_NAT_RANGE_PROTO_RANDOM = 1 << 2;
export const NF_NAT_RANGE_PERSISTENT = 1 << 3;
export const NF_NAT_RANGE_PROTO_RANDOM_FULLY = 1 << 4;

export const NFTA_GEN_ID = 1;
export const NFTA_GEN_PROC_PID = 2;
export const NFTA_GEN_PROC_NAME = 3;

// --- libnftnl's rule userdata TLVs (include/libnftnl/udata.h), which nft reads back ---
/** One byte type, one byte length, value. nft shows type 0 as `comment "..."`. */
export const NFTNL_UDATA_RULE_COMMENT = 0;
/** nft's limit for a comment, including the NUL. */
export const NFTNL_UDATA_COMMENT_MAXLEN = 128;

/** IFNAMSIZ: nft compares interface names as 16 zero-padded bytes. */
export const IFNAMSIZ = 16;

// --- expressions for port forwards (DNAT) ---
export const NFT_META_L4PROTO = 16;

export const NFTA_FIB_DREG = 1;
export const NFTA_FIB_RESULT = 2;
export const NFTA_FIB_FLAGS = 3;
export const NFT_FIB_RESULT_ADDRTYPE = 3;
export const NFTA_FIB_F_DADDR = 1 << 1;

export const NFTA_NAT_TYPE = 1;
export const NFTA_NAT_FAMILY = 2;
export const NFTA_NAT_REG_ADDR_MIN = 3;
export const NFTA_NAT_REG_ADDR_MAX = 4;
export const NFTA_NAT_REG_PROTO_MIN = 5;
export const NFTA_NAT_REG_PROTO_MAX = 6;
export const NFTA_NAT_FLAGS = 7;
export const NFT_NAT_SNAT = 0;
export const NFT_NAT_DNAT = 1;

/** linux/rtnetlink.h: what `fib daddr type local` compares with (host order). */
export const RTN_LOCAL = 2;
/** IPPROTO_*: what `meta l4proto` compares with (one byte). */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
