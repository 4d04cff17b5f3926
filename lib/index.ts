// rtnetlink: Linux container networking from Node.js, spoken directly to the kernel.
// The published types use Node's (Buffer, net.Socket, ChildProcess): the reference makes a
// consumer's compiler load them even when its tsconfig lists no "types" (tsc --init's default).
/// <reference types="node" preserve="true" />
export { NetlinkError, TimeoutError, ClosedError, ArgumentError, ArgumentRangeError } from './errors.js';
export { DecodeError, EncodeError } from './netlink/attributes.js';
export { DumpInterruptedError } from './connection.js';
export type { NetlinkErrorDetails } from './errors.js';
export type { NetlinkMessage } from './netlink/message.js';
export type { IpFamily } from './ip.js';
export {
  Namespace,
  type NamespaceMethods,
  createNamespace,
  openNamespace,
  deleteNamespace,
  listNamespaces,
  type NamespaceId,
  type NamespaceEntry,
  type OpenTarget,
  type DeleteNamespaceResult,
  type DeleteNamespaceOptions,
  type CreateNamespaceOptions,
} from './namespace.js';
export { NamespaceHandle } from './handle.js';
export type { NetnsRef, NetnsOption } from './target.js';
export {
  createVethPair,
  createBridge,
  createMacvlan,
  createVxlan,
  setLink,
  setLinkUp,
  setLinkDown,
  setMaster,
  setNoMaster,
  moveLink,
  deleteLink,
  deleteLinkGroup,
  listLinks,
  getLink,
  listBridgePorts,
  getLinkStats,
  type LinkRef,
  type LinkStats,
  type LinkDetail,
  type VethDetail,
  type BridgeDetail,
  type BridgeSettings,
  type MacvlanDetail,
  type VxlanDetail,
  type LinkInfo,
  type BridgePort,
  type BridgePortFlags,
  type CreatedLink,
  type CreatedVeth,
  type CreateVethOptions,
  type VethPeerOptions,
  type CreateBridgeOptions,
  type CreateMacvlanOptions,
  type CreateVxlanOptions,
  type SetLinkOptions,
  type CommonLinkOptions,
  type MoveLinkOptions,
} from './route/links.js';
export { addAddress, deleteAddress, listAddresses, type AddAddressOptions, type AddressInfo, type ListAddressesOptions } from './route/addresses.js';
export {
  addRoute,
  replaceRoute,
  deleteRoute,
  listRoutes,
  getRoute,
  type RouteSpec,
  type RouteInfo,
  type ListRoutesOptions,
  type NexthopSpec,
  type NexthopInfo,
  type GetRouteOptions,
  type RouteLookup,
} from './route/routes.js';
export {
  addNeighbour,
  replaceNeighbour,
  deleteNeighbour,
  listNeighbours,
  NEIGHBOUR_STATES,
  type NeighbourSpec,
  type NeighbourRef,
  type NeighbourInfo,
  type NeighbourState,
  type ListNeighboursOptions,
} from './route/neighbours.js';
export { appendFdb, addFdb, replaceFdb, deleteFdb, listFdb, type FdbEntrySpec, type FdbEntry, type ListFdbOptions } from './route/fdb.js';
export { addRule, deleteRule, listRules, type RuleSpec, type RuleInfo, type RuleAction, type ListRulesOptions } from './route/rules.js';
export {
  setBridgePort,
  addBridgeVlan,
  deleteBridgeVlan,
  listBridgeVlans,
  setBridge,
  type SetBridgeOptions,
  type BridgePortOptions,
  type BridgeVlanOptions,
  type BridgeVlans,
} from './route/bridge.js';
export { setNsid, getNsid, listNsids, type NsidInfo } from './route/nsid.js';
export { addAltName, deleteAltName } from './route/altnames.js';
export { LinkMonitor, monitorLinks, waitForLinksGone, type LinkEvent, type WaitOptions, type MonitorLinksOptions, type LinkMonitorEvents } from './monitor.js';
export {
  watch,
  Watcher,
  WatchState,
  waitFor,
  waitForAddress,
  waitForLinkState,
  type WatchOptions,
  type WatchEvent,
  type ObjectEvent,
  type SyncedEvent,
  type OverrunEvent,
  type WatchStats,
  type WatchKind,
  type WatchObjects,
  type WaitForOptions,
  type WaitForAddressOptions,
  type LinkState,
} from './watch.js';
export { setSysctl, getSysctl, enableForwarding, type SysctlOptions, type SysctlValue, type ForwardingOptions } from './sysctl.js';
// The topology barrel is the public topology API, as it is.
export * from './topology.js';
export { addMasquerade, listMasquerades, removeMasquerade, removeAllMasquerades, type MasqueradeOptions, type MasqueradeRule } from './nftables/masquerade.js';
export {
  addPortForward,
  listPortForwards,
  removePortForward,
  removeAllPortForwards,
  type PortForwardOptions,
  type PortForward,
  type RemovePortForwardOptions,
  type PortForwardSpecOptions,
} from './nftables/portforward.js';
export { spawn, execFile, execInAll, ExecError, type SpawnOptions, type ExecFileOptions, type ExecResult, type ExecInAllOptions, type ExecInAllResult } from './exec.js';
export { listen, connect, bindUdp, type ListenOptions, type ConnectOptions, type UdpOptions } from './sockets.js';
export { batch } from './batch.js';
export { warmUp } from './warm.js';
export { ChangeList, changeList, type ChangeListResult, type SendChangesOptions } from './change-list.js';
// The CNI plugin's daemon side (docs/CNI.md).
export { startCniDaemon, type CniDaemon, type CniDaemonOptions } from './cni/daemon.js';
export { handleCniRequest } from './cni/plugin.js';
export { CniError, CniCode } from './cni/errors.js';
export type { BridgeNetConf, HostLocalIpam, HostLocalRange, DelegatedIpam, CniAttachment, CniDns, CniRoute } from './cni/config.js';
export type { CniRequest, CniReply, CniEnvName } from './cni/frame.js';
export type { CniResult, CniInterface, CniIpConfig } from './cni/bridge.js';

// Every exported operation that takes a namespace (`netns` in its options, or a namespace as
// its first argument) must also be a Namespace method: a compile error names any that is not.
import type * as api from './index.js';
import type { NamespaceMethodName } from './namespace.js';
import type { NetnsRef } from './target.js';

type TakesNetns<P> = [NetnsRef] extends [P] ? true : P extends object ? ('netns' extends keyof P ? true : false) : false;
type HasNetnsParameter<A extends readonly unknown[]> = true extends { [K in keyof A]: TakesNetns<NonNullable<A[K]>> }[number] ? true : false;
type NamespacedOperation = {
  [K in keyof typeof api]: (typeof api)[K] extends (...args: infer A) => unknown ? (HasNetnsParameter<A> extends true ? K : never) : never;
}[keyof typeof api];
type MustBeNever<T extends never> = T;
type EveryNamespacedOperationIsAMethod = MustBeNever<Exclude<NamespacedOperation, NamespaceMethodName>>;
