// Operation limits: depth, cost and alias count. Depth and aliases are a GraphQL
// validation rule (static: Apollo caches validation per document); the cost depends on the
// page sizes, often variables (`first: $n`), so it is checked once the variables are known,
// in didResolveOperation, before execution. Either way a refused operation never executes and
// so never enters the response cache: a cache hit only ever serves a document + variables
// that passed both checks once (the cache key includes the variables).
//
// Why hand-written rather than graphql-depth-limit / graphql-query-complexity: one walk
// measures all three, with the cost weighted by each list's `first` the way this schema pages;
// the first is unmaintained since 2019, the second would need a custom estimator for exactly that.
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isListType,
  Kind,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';

export interface OperationLimits {
  /** Deepest field nesting (a root field is depth 1). Default 10. */
  maxDepth: number;
  /** Highest cost: 1 per field, times the page size of every list around it. Default 10,000. */
  maxCost: number;
  /** Most aliased fields in one operation (aliases multiply work without adding depth). Default 30. */
  maxAliases: number;
  /** What a `first` counts as when its value is unknown (the largest page the API serves). Default 100. */
  maxPageSize: number;
  /** What a list field without `first` (e.g. `hospitals`, `inventory`) counts as. Default 10. */
  assumedListSize: number;
}

export const DEFAULT_OPERATION_LIMITS: OperationLimits = {
  maxDepth: 10,
  maxCost: 10_000,
  maxAliases: 30,
  maxPageSize: 100,
  assumedListSize: 10,
};

/** Tokens the parser reads before giving up (graphql's parse option): a 1 MB query of `a b c ...` never gets to validation. */
export const MAX_TOKENS = 5_000;

export interface OperationMeasure {
  depth: number;
  cost: number;
  aliases: number;
}

/**
 * Measures one operation against the schema (pure; exported for other transports). Without
 * `variables`, a `first: $n` counts as the largest page; with them, as its value.
 */
export function measureOperation(
  schema: GraphQLSchema,
  fragments: (name: string) => FragmentDefinitionNode | undefined,
  operation: OperationDefinitionNode,
  limits: OperationLimits,
  variables?: Record<string, unknown>,
): OperationMeasure {
  const root = schema.getRootType(operation.operation);
  let aliases = 0;

  const intArgument = (value: ValueNode | undefined, fallback: number): number => {
    if (!value) return fallback;
    if (value.kind === Kind.INT) return Number(value.value);
    if (value.kind === Kind.VARIABLE) {
      const v = variables?.[value.name.value];
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      const declared = operation.variableDefinitions?.find((d) => d.variable.name.value === value.name.value)?.defaultValue;
      if (v === undefined && variables && declared?.kind === Kind.INT) return Number(declared.value);
      // Unknown (or left to its default): anything up to the largest page.
      return v === undefined && variables ? fallback : limits.maxPageSize;
    }
    return fallback;
  };

  /** How many times a field's selection runs per parent: its `first`, or a guess for plain lists. */
  const multiplier = (node: FieldNode, def: GraphQLField<unknown, unknown> | undefined, parentName: string): number => {
    if (!def) return 1;
    const firstDef = def.args.find((a) => a.name === 'first');
    if (firstDef) {
      const arg = node.arguments?.find((a) => a.name.value === 'first');
      const schemaDefault = typeof firstDef.defaultValue === 'number' ? firstDef.defaultValue : limits.maxPageSize;
      return Math.max(1, Math.min(intArgument(arg?.value, schemaDefault), 1_000_000));
    }
    // A connection's `nodes` / `edges` hold the page its field's `first` already counted.
    if (parentName.endsWith('Connection')) return 1;
    return isListType(getNullableType(def.type)) ? limits.assumedListSize : 1;
  };

  // Returns [depth, cost] of a selection set; fragments are expanded where they are spread
  // (each use costs again), with the current path guarding against fragment cycles, which
  // NoFragmentCyclesRule reports but which this rule must survive.
  const walk = (set: SelectionSetNode, parent: GraphQLNamedType | null | undefined, inFragments: Set<string>): [number, number] => {
    let depth = 0;
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        // Introspection (__schema, __type, __typename) is bounded by the schema itself; it is off in production.
        if (name.startsWith('__')) continue;
        if (selection.alias) aliases++;
        const def = parent && 'getFields' in parent ? (parent as GraphQLObjectType).getFields()[name] : undefined;
        let childDepth = 0;
        let childCost = 0;
        if (selection.selectionSet) {
          [childDepth, childCost] = walk(selection.selectionSet, def ? getNamedType(def.type) : null, inFragments);
        }
        depth = Math.max(depth, 1 + childDepth);
        cost += 1 + multiplier(selection, def, parent?.name ?? '') * childCost;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        const [d, c] = walk(selection.selectionSet, type, inFragments);
        depth = Math.max(depth, d);
        cost += c;
      } else {
        const name = selection.name.value;
        const fragment = fragments(name);
        if (!fragment || inFragments.has(name)) continue;
        const [d, c] = walk(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), new Set(inFragments).add(name));
        depth = Math.max(depth, d);
        cost += c;
      }
      // Stop early on absurd documents; the exact figure no longer matters.
      if (cost > Number.MAX_SAFE_INTEGER / 1e7) break;
    }
    return [depth, cost];
  };

  const [depth, cost] = walk(operation.selectionSet, root, new Set());
  return { depth, cost, aliases };
}

const label = (node: OperationDefinitionNode) => (node.name ? `Operation "${node.name.value}"` : 'The operation');

export function costError(node: OperationDefinitionNode, cost: number, limits: OperationLimits): GraphQLError {
  return new GraphQLError(
    `${label(node)} costs ${cost} (1 per field, times the page size \`first\` of each list around it); at most ${limits.maxCost} is allowed. Ask for smaller pages or fewer nested lists.`,
    { nodes: [node], extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', max: limits.maxCost, actual: cost } },
  );
}

/** Depth and aliases: pass to ApolloServer's `validationRules` (and to graphql's validate on other transports). */
export function operationLimitsRule(limits: OperationLimits = DEFAULT_OPERATION_LIMITS): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const m = measureOperation(context.getSchema(), (n) => context.getFragment(n) ?? undefined, node, limits);
      const name = label(node);
      if (m.depth > limits.maxDepth) {
        context.reportError(
          new GraphQLError(`${name} is nested ${m.depth} fields deep; at most ${limits.maxDepth} are allowed.`, {
            nodes: [node],
            extensions: { limit: 'depth', max: limits.maxDepth, actual: m.depth },
          }),
        );
      }
      if (m.aliases > limits.maxAliases) {
        context.reportError(
          new GraphQLError(`${name} uses ${m.aliases} aliases; at most ${limits.maxAliases} are allowed.`, {
            nodes: [node],
            extensions: { limit: 'aliases', max: limits.maxAliases, actual: m.aliases },
          }),
        );
      }
      return false; // measured as a whole; nothing below needs visiting
    },
  });
}

/** The cost check, with the operation's variables: an Apollo plugin (HTTP 400, GRAPHQL_VALIDATION_FAILED, extensions.limit "cost"). */
export function operationCostPlugin(limits: OperationLimits = DEFAULT_OPERATION_LIMITS): ApolloServerPlugin<object> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, request }) {
          if (!operation) return;
          const m = measureOperation(schema, fragmentsOf(document), operation, limits, request.variables ?? {});
          if (m.cost > limits.maxCost) {
            const error = costError(operation, m.cost, limits);
            error.extensions.http = { status: 400, headers: new HeaderMap() };
            throw error;
          }
        },
      };
    },
  };
}

export function fragmentsOf(document: DocumentNode): (name: string) => FragmentDefinitionNode | undefined {
  const map = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) map.set(d.name.value, d);
  return (name) => map.get(name);
}
