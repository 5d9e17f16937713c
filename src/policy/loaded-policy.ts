import type { TransformRegistry } from '../transforms/registry.ts';
import type { Policy } from './policy.ts';

/** A parsed policy with the transform registry it was parsed against (built-ins plus its custom transforms). */
export interface LoadedPolicy {
  readonly policy: Policy;
  readonly registry: TransformRegistry;
  /** the directory the custom transforms came from (--transforms, else the policy's transforms:), or null */
  readonly transformsDir: string | null;
}
