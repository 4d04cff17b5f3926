// Declarative apply/destroy of many namespaces at once: the spec and its checks
// (topology/spec.ts), what is the topology's own (topology/marks.ts), apply with its rollback
// journal (topology/apply.ts, topology/journal.ts) and destroy (topology/destroy.ts).
export {
  DEFAULT_MAX_NAMESPACES,
  MAX_BRIDGE_PORTS,
  TopologyError,
  topologyGroup,
  validateTopology,
  type AddressSpec,
  type ApplyOptions,
  type ApplyResult,
  type BridgeSpec,
  type DestroyOptions,
  type DestroyResult,
  type InterfaceSpec,
  type ItemAction,
  type ItemResult,
  type MasqueradeSpec,
  type VxlanSpec,
  type LinkSpec,
  type VethEndSpec,
  type TopologyFdbEntry,
  type TopologyNeighbour,
  type TopologyRule,
  type NamespaceSpec,
  type Progress,
  type TopologyRoute,
  type TopologySpec,
  type ValidateOptions,
} from './topology/spec.js';
export { applyTopology } from './topology/apply.js';
export { destroyTopology } from './topology/destroy.js';
