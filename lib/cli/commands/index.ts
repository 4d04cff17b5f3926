// Every command of the rtnl CLI, in the order `rtnl --help` lists them.
import type { Command } from '../command.js';
import { cniCommands } from './cni.js';
import { listCommands } from './lists.js';
import { monitorCommands } from './monitor.js';
import { namespaceCommands } from './namespaces.js';
import { neighbourCommands } from './neighbours.js';
import { portCommands } from './ports.js';
import { routeGetCommands } from './route-get.js';
import { topologyCommands } from './topology.js';

export const commands: Command[] = [...topologyCommands, ...namespaceCommands, ...listCommands, ...routeGetCommands, ...neighbourCommands, ...portCommands, ...monitorCommands, ...cniCommands];

/** Other words for a command group: `rtnl address list` is `rtnl addr list`. */
export const groupAliases: Record<string, string> = { address: 'addr', a: 'addr', l: 'link', r: 'route', netns: 'ns', neighbour: 'neigh', neighbor: 'neigh', n: 'neigh' };
