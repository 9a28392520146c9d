import { isObjectType, type GraphQLSchema } from 'graphql';

/** maxAge (seconds) of each object type's @cacheControl hint, read from the SDL. */
export function typeMaxAges(schema: GraphQLSchema): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const directive = type.astNode?.directives?.find((d) => d.name.value === 'cacheControl');
    const maxAge = directive?.arguments?.find((a) => a.name.value === 'maxAge');
    if (maxAge?.value.kind === 'IntValue') out[type.name] = Number(maxAge.value.value);
  }
  return out;
}
