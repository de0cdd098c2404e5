// CloudWatch dashboards: per target, size and growth, fragmentation, rows purged/archived, durations, failures, recommendations.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { TaskDefinition } from '../../lib/catalogue';
import type { DbMaintConfig } from '../../lib/config/schema';
import { METRIC, type MetricName } from '../../lib/metrics/names';
import { targetMetric } from './target-stack';

export interface MaintenanceDashboardProps {
  readonly config: DbMaintConfig;
  readonly tasks: readonly TaskDefinition[];
  readonly namePrefix: string;
}

/** A dashboard holds at most 500 widgets; 8 per target keeps 40 targets per dashboard with room to spare. */
const TARGETS_PER_DASHBOARD = 40;

export class MaintenanceDashboard extends Construct {
  readonly names: string[] = [];

  constructor(scope: Construct, id: string, props: MaintenanceDashboardProps) {
    super(scope, id);
    const ns = props.config.metricNamespace;
    const day = Duration.days(1);
    const m = (task: string, target: string, name: MetricName, stat: string, label?: string) => {
      const metric = targetMetric(ns, task, target, name, stat, day);
      return label ? metric.with({ label }) : metric;
    };
    const has = (id: string) => props.tasks.some((t) => t.id === id);
    const targets = props.config.targets;
    for (let d = 0; d * TARGETS_PER_DASHBOARD < targets.length; d++) {
      const name = `${props.namePrefix}${d === 0 ? '' : `-${d + 1}`}`;
      const dash = new cloudwatch.Dashboard(this, `Dashboard${d}`, { dashboardName: name, defaultInterval: Duration.days(30) });
      this.names.push(name);
      for (const target of targets.slice(d * TARGETS_PER_DASHBOARD, (d + 1) * TARGETS_PER_DASHBOARD)) {
        const t = target.name;
        dash.addWidgets(new cloudwatch.TextWidget({ markdown: `## ${t}  \nschemas: ${target.schemas.join(', ')}`, width: 24, height: 1 }));
        const row: cloudwatch.IWidget[] = [];
        if (has('collect-statistics')) {
          row.push(
            new cloudwatch.GraphWidget({ title: `${t}: database size`, left: [m('collect-statistics', t, METRIC.DatabaseSizeBytes.name, 'Maximum', 'size')], right: [m('collect-statistics', t, METRIC.GrowthBytesPerDay.name, 'Maximum', 'growth/day')], width: 6 }),
            new cloudwatch.GraphWidget({ title: `${t}: fragmentation (max, tables over the floor)`, left: [m('collect-statistics', t, METRIC.MaxFragmentationPercent.name, 'Maximum', 'max %')], width: 6 }),
          );
        }
        const purged = [
          ...(has('cleanup-data') ? [m('cleanup-data', t, METRIC.RowsDeleted.name, 'Sum', 'deleted'), m('cleanup-data', t, METRIC.RowsArchived.name, 'Sum', 'archived (cleanup)')] : []),
          ...(has('archive-orders') ? [m('archive-orders', t, METRIC.RowsArchived.name, 'Sum', 'orders archived')] : []),
        ];
        if (purged.length) row.push(new cloudwatch.GraphWidget({ title: `${t}: rows purged / archived`, left: purged, stacked: true, width: 6 }));
        if (has('recommendations')) {
          row.push(
            new cloudwatch.GraphWidget({
              title: `${t}: recommendations by priority`,
              left: [
                m('recommendations', t, METRIC.RecommendationsHigh.name, 'Maximum', 'high'),
                m('recommendations', t, METRIC.RecommendationsMedium.name, 'Maximum', 'medium'),
                m('recommendations', t, METRIC.RecommendationsLow.name, 'Maximum', 'low'),
              ],
              width: 6,
            }),
          );
        }
        dash.addWidgets(...row);
        dash.addWidgets(
          new cloudwatch.GraphWidget({ title: `${t}: task durations (s)`, left: props.tasks.map((task) => m(task.id, t, METRIC.DurationSeconds.name, 'Maximum', task.id)), width: 12 }),
          new cloudwatch.GraphWidget({ title: `${t}: task failures`, left: props.tasks.map((task) => m(task.id, t, METRIC.TaskFailed.name, 'Sum', task.id)), stacked: true, width: 12 }),
        );
      }
    }
  }
}
