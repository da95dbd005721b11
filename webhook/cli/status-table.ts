// The status command's human output: a `kubectl get`-style table.
import type { GroupStatus } from './status-groups.ts';

export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** Columns padded like kubectl's tabwriter (3 spaces between columns). */
export function alignTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

export function formatTable(
  groups: GroupStatus[],
  opts: { allNamespaces: boolean; wide?: boolean; now?: number },
): string {
  const now = opts.now ?? Date.now();
  const header = ['LEASE', 'HOLDER', 'TERM', 'TRANSITIONS', 'ENDPOINTS', 'MEMBERS'];
  if (opts.allNamespaces) header.unshift('NAMESPACE');
  if (opts.wide) header.push('RENEWED', 'MEMBER-PODS');
  const rows = [header];
  for (const g of groups) {
    const row = [
      g.lease,
      g.holder ?? '<none>',
      g.termMs === null ? '<none>' : humanDuration(g.termMs),
      g.transitions === null ? '<none>' : String(g.transitions),
      g.services.length
        ? g.services.map((s) => `${s.service}:${s.ready.length}/${s.total}`).join(',')
        : '<none>',
      String(g.members.length),
    ];
    if (opts.allNamespaces) row.unshift(g.namespace);
    if (opts.wide) {
      const renewed = g.renewTime ? humanDuration(now - Date.parse(g.renewTime)) : '<none>';
      row.push(g.expired ? `${renewed}(expired)` : renewed, g.members.map((m) => m.name).join(','));
    }
    rows.push(row);
  }
  const warnings = groups
    .filter((g) => g.unelected.length > 0)
    .map(
      (g) =>
        `WARNING: ${g.namespace}/${g.lease}: ${g.unelected.length} Ready pod(s) without the agent serve beside the ` +
        `leader: ${g.unelected.join(', ')} (running since before the opt-in; restart the workload, e.g. kubectl ` +
        `rollout restart)`,
    );
  return alignTable(rows) + '\n' + warnings.map((w) => `${w}\n`).join('');
}
