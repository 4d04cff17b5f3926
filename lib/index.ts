// rtnetlink: Linux container networking from Node.js, spoken directly to the kernel.
export { NetlinkError, TimeoutError, ClosedError, ArgumentError, ArgumentRangeError } from './errors.js';
export { DecodeError, EncodeError } from './netlink/attributes.js';
export { DumpInterruptedError } from './connection.js';
export {
  Namespace,
  createNamespace,
  openNamespace,
  deleteNamespace,
  listNamespaces,
  type NamespaceId,
  type NamespaceEntry,
  type OpenTarget,
  type DeleteNamespaceResult,
  type DeleteNamespaceOptions,
} from './namespace.js';
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
  type LinkRef,
  type LinkInfo,
  type BridgePort,
  type CreatedLink,
  type CreatedVeth,
  type CreateVethOptions,
  type VethPeerOptions,
  type CreateBridgeOptions,
  type CreateMacvlanOptions,
  type CreateVxlanOptions,
  type SetLinkOptions,
  type CommonLinkOptions,
} from './route/links.js';
export { addAddress, deleteAddress, listAddresses, type AddAddressOptions, type AddressInfo, type ListAddressesOptions } from './route/addresses.js';
export { addRoute, replaceRoute, deleteRoute, listRoutes, type RouteSpec, type RouteInfo, type ListRoutesOptions } from './route/routes.js';
export { LinkMonitor, monitorLinks, waitForLinksGone, type LinkEvent, type WaitOptions } from './monitor.js';
export { setSysctl, getSysctl, enableForwarding, type SysctlOptions, type SysctlValue, type ForwardingOptions } from './sysctl.js';
export {
  applyTopology,
  destroyTopology,
  validateTopology,
  TopologyError,
  MAX_BRIDGE_PORTS,
  type TopologySpec,
  type BridgeSpec,
  type NamespaceSpec,
  type InterfaceSpec,
  type AddressSpec,
  type TopologyRoute,
  type MasqueradeSpec,
  type ApplyOptions,
  type ApplyResult,
  type DestroyOptions,
  type ItemResult,
  type Progress,
} from './topology.js';
export { addMasquerade, listMasquerades, removeMasquerade, removeAllMasquerades, type MasqueradeOptions, type MasqueradeRule } from './nftables/masquerade.js';
export { spawn, execFile, execInAll, ExecError, type SpawnOptions, type ExecFileOptions, type ExecResult, type ExecInAllOptions, type ExecInAllResult } from './exec.js';
export { listen, connect, bindUdp, type ListenOptions, type ConnectOptions, type UdpOptions } from './sockets.js';
export { batch } from './batch.js';
