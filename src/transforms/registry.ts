import type { TransformDefinition } from './transform.ts';
import { ExitCode, PgmaskError } from '../errors.ts';
import { isCustomTransformDefinition } from './custom-transform-definition.ts';
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
import { resample, signalNoise } from './signal.ts';
import { json } from './json.ts';

/**
 * The one list of built-in transforms. Docs, the JSON Schema, CLI help and the
 * runtimes are generated from it; nothing else looks a transform up by name.
 */
const builtins: readonly TransformDefinition<any>[] = [keep, redact, pseudonymize, shiftDate, generalizeDate, age, birthYear, zip3, noise, bucket, partial, fake, encrypt, signalNoise, resample, json];

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
    // a user's custom transform named like a registered one is a policy mistake, not a bug in pgmask
    const clashes = more.filter((t) => this.#byName.has(t.name));
    if (clashes.length > 0) {
      const where = (t: TransformDefinition<any>) => (isCustomTransformDefinition(t) ? ` (${t.sourceFile})` : '');
      throw new PgmaskError({
        code: 'CUSTOM_TRANSFORM_NAME_CLASH',
        message: `custom transform ${clashes.map((t) => `${t.name}${where(t)}`).join(', ')} has the name of a built-in transform`,
        hint: `rename it (e.g. my_${clashes[0]!.name}) in defineCustomTransform({ name }) and in the policy; built-in names: ${this.names().join(', ')}`,
        exitCode: ExitCode.invalidPolicy,
        details: clashes.map((t) => ({ code: 'CUSTOM_TRANSFORM_NAME_CLASH', severity: 'error' as const, message: `${t.name}${where(t)}` })),
      });
    }
    return new TransformRegistry([...this.all(), ...more]);
  }
}

export const registry = new TransformRegistry(builtins);
