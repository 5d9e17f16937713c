import type { TransformDefinition } from './transform.ts';
import { keep } from './keep.ts';
import { redact } from './redact.ts';
import { pseudonymize } from './pseudonymize.ts';
import { shiftDate } from './shift-date.ts';
import { generalizeDate } from './generalize-date.ts';
import { age } from './age.ts';
import { birthYear } from './birth-year.ts';
import { zip3 } from './zip3.ts';
import { noise } from './noise.ts';
import { bucket } from './bucket.ts';
import { partial } from './partial.ts';
import { fake } from './fake.ts';
import { encrypt } from './encrypt.ts';

/**
 * The one list of built-in transforms. Docs, the JSON Schema, CLI help and the
 * runtimes are generated from it; nothing else looks a transform up by name.
 */
const builtins: readonly TransformDefinition<any>[] = [keep, redact, pseudonymize, shiftDate, generalizeDate, age, birthYear, zip3, noise, bucket, partial, fake, encrypt];

export class TransformRegistry {
  readonly #byName = new Map<string, TransformDefinition<any>>();

  constructor(transforms: readonly TransformDefinition<any>[]) {
    for (const t of transforms) {
      if (this.#byName.has(t.name)) throw new Error(`transform ${t.name} is registered twice`);
      if (!/^[a-z][a-z0-9_]*$/.test(t.name)) throw new Error(`transform name ${JSON.stringify(t.name)} must be snake_case`);
      this.#byName.set(t.name, t);
    }
  }

  get(name: string): TransformDefinition<any> | undefined {
    return this.#byName.get(name);
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  all(): TransformDefinition<any>[] {
    return [...this.#byName.values()];
  }

  /** a new registry with more transforms (custom ones); names must not clash */
  with(more: readonly TransformDefinition<any>[]): TransformRegistry {
    return new TransformRegistry([...this.all(), ...more]);
  }
}

export const registry = new TransformRegistry(builtins);
