import type { Executor } from '../db/client.js';
import { modules } from '../modules/index.js';
import type { RequestCache } from './request-cache.js';

type ModuleLoaders = (typeof modules)[number] extends infer M ? (M extends { loaders?: (...a: never[]) => infer L } ? L : never) : never;
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
export type Loaders = Intersection<ModuleLoaders>;

/** Fresh per operation: DataLoader memoises for the life of one request only. Every module's loaders, by name. */
export function createLoaders(db: Executor, rc: RequestCache | null): Loaders {
  const loaders: Record<string, unknown> = {};
  for (const m of modules) {
    for (const [name, loader] of Object.entries(m.loaders?.(db, rc) ?? {})) {
      if (name in loaders) throw new Error(`two modules define the loader ${name}`);
      loaders[name] = loader;
    }
  }
  return loaders as Loaders;
}
