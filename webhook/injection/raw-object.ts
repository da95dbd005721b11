// Reading the raw object under review: a member that has the wrong JSON type makes the
// object malformed (Invalid), which the injection answers with a denial.
import { isAbsent, isObject, type JsonObject } from '../../common/json.ts';

/** The object is malformed at the named place; injectPod and injectWorkload deny it. */
export class Invalid extends Error {}

/** The array at obj[key]: [] when absent; throws Invalid when something else is there. */
export function arrayAt(obj: JsonObject, key: string, where: string): unknown[] {
  const v = obj[key];
  if (isAbsent(v)) return [];
  if (!Array.isArray(v)) throw new Invalid(`${where}.${key} is not an array`);
  return v;
}

export function containersOf(
  spec: JsonObject,
  where: string,
): { containers: unknown[]; initContainers: unknown[] } {
  return {
    containers: arrayAt(spec, 'containers', where),
    initContainers: arrayAt(spec, 'initContainers', where),
  };
}

export function hasContainerNamed(list: unknown[], name: string): boolean {
  return list.some((c) => isObject(c) && c.name === name);
}
