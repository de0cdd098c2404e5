// `dbmaint cost` as text: per target and in total, then the totals by service, then the prices and assumptions used.
import { textTable } from '../../lib/reporting/text-table';
import type { CostEstimate } from './estimate';

const usd = (n: number) => `$${n.toFixed(2)}`;

export function renderCost(e: CostEstimate): string {
  const services = [...new Set(e.items.map((i) => i.service))];
  const owners = [...Object.keys(e.perTargetUsd), null];
  const sum = (owner: string | null, service: string) => e.items.filter((i) => i.target === owner && i.service === service).reduce((n, i) => n + i.monthlyUsd, 0);
  const rows = services.map((s) => [s, ...owners.map((o) => usd(sum(o, s)))]);
  return [
    `Monthly estimate: ${usd(e.monthlyUsd)} (${e.prices.region} list prices of ${e.prices.asOf}; free tiers not counted)`,
    ...Object.entries(e.perTargetUsd).map(([t, v]) => `  ${t}: ${usd(v)} (its own items + an equal share of the shared ${usd(e.sharedUsd)})`),
    '',
    textTable(['service', ...owners.map((o) => o ?? 'shared')], rows),
    '',
    `Assumed per invocation: ${Object.entries(e.assumptions.secondsPerInvocation).map(([t, s]) => `${t} ${s} s`).join(', ')}; ${e.assumptions.logBytesPerInvocation / 1000} KB of logs.`,
    'Every item with its quantity and unit price: --json.',
  ].join('\n');
}
