// The dbmaint stack of the JSON-config app (infra/app.ts): the DbMaintenance construct and the stack's outputs.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DbMaintenance, type DbMaintenanceProps } from './db-maintenance';

export interface DbMaintStackProps extends StackProps, DbMaintenanceProps {}

export class DbMaintStack extends Stack {
  readonly maintenance: DbMaintenance;

  constructor(scope: Construct, id: string, props: DbMaintStackProps) {
    super(scope, id, props);
    // Id 'Default' leaves the construct out of every logical id: the stack's resources keep the ids (and so the names
    // and physical resources) they had before the construct existed.
    this.maintenance = new DbMaintenance(this, 'Default', props);
    const m = this.maintenance;
    new CfnOutput(this, 'AlarmTopicArn', { value: m.alarmTopic.topicArn });
    new CfnOutput(this, 'Dashboards', { value: m.dashboardNames.join(',') });
    for (const r of m.routines) new CfnOutput(this, `StateMachine-${r.routine.id}`, { value: r.stateMachine.stateMachine.stateMachineArn });
    for (const r of m.fleetRoutines) new CfnOutput(this, `FleetStateMachine-${r.routine.id}`, { value: r.stateMachine.stateMachineArn });
    new CfnOutput(this, 'FailedInvocationsQueueUrl', { value: m.failureQueue.queueUrl });
    new CfnOutput(this, 'Functions', { value: m.functions.map((f) => f.fn.function.functionName).join(',') });
  }

  get functions() {
    return this.maintenance.functions;
  }
  get alarmTopic() {
    return this.maintenance.alarmTopic;
  }
  get failureQueue() {
    return this.maintenance.failureQueue;
  }
  get secretAccessPolicies() {
    return this.maintenance.secretAccessPolicies;
  }
  get secretPatterns() {
    return this.maintenance.secretPatterns;
  }
  get targetStacks() {
    return this.maintenance.targetStacks;
  }
  get routines() {
    return this.maintenance.routines;
  }
  get fleetRoutines() {
    return this.maintenance.fleetRoutines;
  }
  get longRunner() {
    return this.maintenance.longRunner;
  }
}
