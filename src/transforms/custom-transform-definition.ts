import type { TransformDefinition } from './transform.ts';

/** A TransformDefinition made from a user's custom transform file (plv8-only). */
export interface CustomTransformDefinition<P = Record<string, unknown>> extends TransformDefinition<P> {
  /** absolute path of the file that defines it; the plv8 runtime bundles it */
  readonly sourceFile: string;
}

export function isCustomTransformDefinition(t: TransformDefinition<any>): t is CustomTransformDefinition<any> {
  return typeof (t as Partial<CustomTransformDefinition>).sourceFile === 'string';
}
