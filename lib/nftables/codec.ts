// The nf_tables wire codec, one file per object as google/nftables lays it out: message.ts
// (types, nfgenmsg, checks), table.ts, chain.ts, rule.ts (with its userdata), batch.ts
// (transactions), expr/*.ts (one file per expression kind) and shapes/*.ts (the rules the
// library writes: masquerade, port forwards). This file re-exports them for one import.
//
// Every byte layout was checked against what nft 1.0.6 sends for the equivalent command
// (strace, see scripts/capture-nft-fixtures.sh and test/fixtures/nftables): we send the same
// attributes in the same order, so `nft list ruleset` shows our objects exactly as if nft had
// made them, and a future reader can diff our bytes against nft's with no translation.
export * from './message.js';
export * from './table.js';
export * from './chain.js';
export * from './rule.js';
export * from './batch.js';
export * from './expr/index.js';
export * from './shapes/masquerade.js';
export * from './shapes/dnat.js';
