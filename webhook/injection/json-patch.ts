// JSON Patch (RFC 6902) operations that touch only what the webhook adds, in the style of
// vault-k8s agent-inject:
// - an absent array is created whole (`add /spec/initContainers [x]`), a present one
//   is appended to (`add /spec/initContainers/-`);
// - an absent map is created whole (`add /metadata/annotations {k: v}`), a present
//   one gets one `add` per key, with the key escaped as a JSON Pointer token
//   (`/metadata/annotations/leader-election~1status`).
import { isAbsent, isObject, type JsonObject } from '../../common/json.ts';
import { Invalid } from './raw-object.ts';

export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** RFC 6901: `~` → `~0`, then `/` → `~1`. */
export function escapeJsonPointer(s: string): string {
  // Most segments (spec, containers, a label key without a prefix) need nothing: skip the two
  // regex replacements, which showed in the admission profile (issue 16).
  if (!s.includes('~') && !s.includes('/')) return s;
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(segments: readonly string[]): string {
  return segments.map((s) => `/${escapeJsonPointer(s)}`).join('');
}

/** Appends items to the array at `path` (parent object `obj`, member `key`), creating it when absent. */
export function appendOps(
  ops: JsonPatchOp[],
  obj: JsonObject,
  path: readonly string[],
  items: unknown[],
): void {
  const key = path[path.length - 1] ?? '';
  if (items.length === 0) return;
  if (isAbsent(obj[key])) {
    ops.push({ op: 'add', path: pointer(path), value: items });
  } else {
    for (const item of items) ops.push({ op: 'add', path: `${pointer(path)}/-`, value: item });
  }
}

/**
 * Sets entries of the map at `path` below `root`, creating the map (and any absent parent
 * object) whole with one `add` when it is absent. Throws Invalid if a parent is not an object.
 */
export function mapOps(
  ops: JsonPatchOp[],
  root: JsonObject,
  path: readonly string[],
  entries: Record<string, string>,
): void {
  const keys = Object.keys(entries);
  if (keys.length === 0) return;
  let cur: JsonObject = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] ?? '';
    const next = cur[seg];
    if (isAbsent(next)) {
      let value: JsonObject = { ...entries };
      for (let j = path.length - 1; j > i; j--) value = { [path[j] ?? '']: value };
      ops.push({ op: 'add', path: pointer(path.slice(0, i + 1)), value });
      return;
    }
    if (!isObject(next)) throw new Invalid(`${path.slice(0, i + 1).join('.')} is not an object`);
    cur = next;
  }
  for (const k of keys) ops.push({ op: 'add', path: pointer([...path, k]), value: entries[k] });
}
