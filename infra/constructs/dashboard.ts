// The CloudWatch dashboard: one database at a time (picked in the toolbar) and the fleet's top databases, the same size for 2 or 500 targets.
import { TASK_MODULES } from '../../lib/tasks/registry';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { TaskDefinition, TaskId } from '../../lib/catalogue';
import type { DbMaintConfig } from '../../lib/config/schema';
import { DIMENSION, METRIC, type MetricName } from '../../lib/metrics/names';
import { targetMetric } from './target-metric';

export interface MaintenanceDashboardProps {
  readonly config: DbMaintConfig;
  readonly tasks: readonly TaskDefinition[];
  readonly namePrefix: string;
}

/** How many databases each fleet graph shows (SORT … DESC, n of a SEARCH over the Database dimension). */
const FLEET_TOP = 10;

/** The dimension schema every per-database metric is emitted under; the namespace quoted (it may hold / . # : -). */
function databaseSchema(namespace: string): string {
  return `{"${namespace}",${DIMENSION.Service},${DIMENSION.Task},${DIMENSION.Database}}`;
}

/**
 * Per-target widgets made the dashboard grow ~6.7 KB per target (1.3 MB at 200). Instead, a property variable swaps the
 * Database dimension of the per-database widgets (its choices come from a metric search, not from the config), and the
 * fleet graphs are SEARCH expressions over the Database dimension: nothing in the body is per target.
 */
export class MaintenanceDashboard extends Construct {
  readonly names: string[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MaintenanceDashboardProps) {
    super(scope, id);
    const ns = props.config.metricNamespace;
    const day = Duration.days(1);
    const schema = databaseSchema(ns);
    // The per-database widgets are drawn for this database until another is picked.
    const shown = props.config.targets[0]!.name;
    const m = (task: string, name: MetricName, stat: string, label: string) => targetMetric(ns, task, shown, name, stat, day).with({ label });

    const listed = (props.tasks.find((t) => t.gatesLaterSteps) ?? props.tasks[0]!).id;
    const name = props.namePrefix;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: name,
      defaultInterval: Duration.days(30),
      variables: [
        new cloudwatch.DashboardVariable({
          id: 'database',
          type: cloudwatch.VariableType.PROPERTY,
          value: DIMENSION.Database,
          label: 'Database',
          inputType: cloudwatch.VariableInputType.SELECT,
          // Every target whose preflight (step 1 of both routines: every target) succeeded in the last two weeks, the
          // window a metric search covers. One task only: one series per target, within a search's 500.
          values: cloudwatch.Values.fromSearch(`${schema} MetricName="${METRIC.TaskSucceeded.name}" ${DIMENSION.Task}="${listed}"`, DIMENSION.Database),
          defaultValue: cloudwatch.DefaultValue.value(shown),
        }),
      ],
    });
    this.names.push(name);
    const dash = this.dashboard;

    // Fleet: the top databases by each measure (SORT keeps the first FLEET_TOP of the search's series).
    // One task's metric per search: at most one series per target, so 500 targets stay within a SEARCH's 500 series.
    const fleet = (title: string, metric: MetricName, task: string, stat: string, order: 'DESC' | 'ASC' = 'DESC') =>
      new cloudwatch.GraphWidget({
        title,
        width: 8,
        left: [
          new cloudwatch.MathExpression({
            expression: `SORT(SEARCH('${schema} MetricName="${metric}" ${DIMENSION.Task}="${task}"', '${stat}', ${day.toSeconds()}), ${stat === 'Minimum' ? 'MIN' : stat === 'Sum' ? 'SUM' : 'MAX'}, ${order}, ${FLEET_TOP})`,
            usingMetrics: {},
            label: `\${PROP('Dim.${DIMENSION.Database}')}`,
            period: day,
          }),
        ],
      });
    dash.addWidgets(new cloudwatch.TextWidget({ markdown: `## Fleet: the ${FLEET_TOP} databases highest on each measure`, width: 24, height: 1 }));
    const fleetRow: cloudwatch.IWidget[] = [
      // Failures by task from the fleet-wide dimension set (one series per task): a per-database search over every task
      // would return tasks x targets series, past the 500 a SEARCH returns.
      new cloudwatch.GraphWidget({
        title: 'Task failures, whole fleet (by task)',
        width: 8,
        stacked: true,
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{"${ns}",${DIMENSION.Service},${DIMENSION.Task}} MetricName="${METRIC.TaskFailed.name}"', 'Sum', ${day.toSeconds()})`,
            usingMetrics: {},
            label: `\${PROP('Dim.${DIMENSION.Task}')}`,
            period: day,
          }),
        ],
      }),
    ];
    for (const task of props.tasks) {
      for (const g of TASK_MODULES[task.id as TaskId]?.dashboard?.fleet ?? []) fleetRow.push(fleet(g.title, g.metric, task.id, g.stat, g.order));
    }
    dash.addWidgets(...fleetRow);

    // One database: the one picked in the toolbar's Database list.
    dash.addWidgets(new cloudwatch.TextWidget({ markdown: '## One database: pick it in the **Database** list above', width: 24, height: 1 }));
    // Graphs by title, in catalogue order: the series of several tasks under one title share it (rows purged and archived).
    const graphs = new Map<string, { left: cloudwatch.IMetric[]; right: cloudwatch.IMetric[]; stacked: boolean }>();
    for (const task of props.tasks) {
      for (const g of TASK_MODULES[task.id as TaskId]?.dashboard?.database ?? []) {
        const graph = graphs.get(g.title) ?? { left: [], right: [], stacked: false };
        for (const sr of g.series) (sr.axis === 'right' ? graph.right : graph.left).push(m(task.id, sr.metric, sr.stat, sr.label ?? sr.metric));
        graph.stacked ||= g.stacked === true;
        graphs.set(g.title, graph);
      }
    }
    const row: cloudwatch.IWidget[] = [...graphs].map(
      ([title, g]) => new cloudwatch.GraphWidget({ title, left: g.left, ...(g.right.length ? { right: g.right } : {}), ...(g.stacked ? { stacked: true } : {}), width: 6 }),
    );
    dash.addWidgets(...row);
    dash.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Task durations (s)', left: props.tasks.map((task) => m(task.id, METRIC.DurationSeconds.name, 'Maximum', task.id)), width: 12 }),
      new cloudwatch.GraphWidget({ title: 'Task failures', left: props.tasks.map((task) => m(task.id, METRIC.TaskFailed.name, 'Sum', task.id)), stacked: true, width: 12 }),
    );
  }
}
