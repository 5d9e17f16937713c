/** A policy rule as YAML data: a transform name, or `{ transform: { params } }`. */
export type RuleValue = string | Readonly<Record<string, Readonly<Record<string, unknown>>>>;
