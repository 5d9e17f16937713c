import type { Sql } from '../../src/sql/index.ts';
import { constant } from '../../src/plan/expression.ts';
import { renderExpression } from '../../src/plan/render.ts';
import type { RenderContext, Runtime, TransformDefinition } from '../../src/transforms/transform.ts';

/** The pieces of a render context as SQL text (tests write them by hand), runtime sql unless given. */
export interface SqlRenderContext<P> extends Omit<RenderContext<P>, 'value' | 'key' | 'subject' | 'rowKey' | 'runtime'> {
  readonly value: Sql;
  readonly key: Sql;
  readonly subject: Sql | null;
  readonly rowKey: Sql | null;
  readonly runtime?: Runtime;
}

/** A transform's view expression for hand-written pieces, rendered: what the planner would put in the view. */
export function renderTransform<P>(t: TransformDefinition<P>, ctx: SqlRenderContext<P>): Sql {
  const node = (s: Sql | null) => (s === null ? null : constant(s));
  return renderExpression(
    t.render({ ...ctx, value: constant(ctx.value), key: constant(ctx.key), subject: node(ctx.subject), rowKey: node(ctx.rowKey), runtime: ctx.runtime ?? 'sql' }),
  );
}
