// cdk-nag (AwsSolutions) on the stack; every suppression says why it is acceptable here.
import { Aspects, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import type { Construct, IConstruct } from 'constructs';
import { ROUTINES } from '../lib/catalogue';
import { DbMaintStack } from './stack';

const SECRET_PATTERN_REASONS = {
  exact:
    'Secrets named by a partial ARN can only be matched with the 6-character suffix wildcard Secrets Manager appends (arn...:secret:NAME-??????); complete ARNs are granted exactly.',
  'name-prefix':
    'fleet.secretAccess name-prefix: the deployer chose to grant the secrets named with this prefix, in the regions and accounts of the configured secrets; synth refuses a configured secret outside it.',
  tag: 'fleet.secretAccess tag: the grant matches only secrets carrying the configured tag (StringEquals on secretsmanager:ResourceTag), in the regions and accounts of the configured secrets.',
} as const;

export function applyNag(scope: IConstruct): void {
  Aspects.of(scope).add(new AwsSolutionsChecks({ verbose: true }));
}

export function addNagSuppressions(stack: Stack): void {
  NagSuppressions.addStackSuppressions(
    stack,
    [
      {
        id: 'AwsSolutions-IAM4',
        reason:
          'AWSLambdaBasicExecutionRole (CloudWatch Logs) and AWSLambdaVPCAccessExecutionRole (ENI management for VPC functions) are the narrow AWS-managed policies Lambda itself documents for these needs.',
        appliesTo: [
          'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
          'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "The scheduler role may invoke each dbmaint function and its versions/aliases (FUNCTION_ARN:*), as Lambda's grantInvoke defines it; no other function.",
        appliesTo: [{ regex: '/^Resource::<Task.*Function[0-9A-F]+\\.Arn>:\\*$/g' }],
      },
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter destination of failed scheduled invocations.',
      },
      {
        id: 'AwsSolutions-SNS2',
        reason:
          'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key; the alarm notifications carry no data beyond alarm names and states.',
      },
    ],
    true,
  );
  // Exactly the secret patterns the grant policies hold, each with the reason its mode admits it.
  if (stack instanceof DbMaintStack) {
    for (const mode of ['exact', 'name-prefix', 'tag'] as const) {
      const appliesTo = stack.secretPatterns.filter((p) => p.mode === mode).map((p) => `Resource::${p.resource}`);
      if (appliesTo.length === 0) continue;
      NagSuppressions.addStackSuppressions(stack, [{ id: 'AwsSolutions-IAM5', reason: SECRET_PATTERN_REASONS[mode], appliesTo }], true);
    }
  }
  // Only the state machines' own policies, not the functions': there '*' stays a finding.
  const LOG_DELIVERY = 'delivers execution logs (CloudWatch Logs vended log delivery: CreateLogDelivery, PutResourcePolicy, DescribeLogGroups…) and X-Ray traces; these actions support no resource-level permissions, so AWS documents Resource "*" for them';
  const stateMachines = [
    { prefix: 'Routine', reason: `The routine state machine ${LOG_DELIVERY}.`, appliesTo: ['Resource::*'] },
    {
      prefix: 'Fleet',
      reason: `The fleet state machine ${LOG_DELIVERY}; and it waits for the routine executions it starts: DescribeExecution and StopExecution on executions of that one routine state machine, whose ids are not known in advance.`,
      appliesTo: ['Resource::*', { regex: '/^Resource::arn:<AWS::Partition>:states:.*:execution:.*\\*$/g' }],
    },
  ];
  const longRunner = stack instanceof DbMaintStack && stack.longRunner !== undefined;
  // The resources live in the DbMaintenance construct (id 'Default': in paths, not in logical ids).
  const root: Construct = stack instanceof DbMaintStack ? stack.maintenance : stack;
  for (const routine of ROUTINES) {
    for (const { prefix, reason, appliesTo } of stateMachines) {
      const id = `${prefix}-${routine.id}`;
      if (!root.node.tryFindChild(id)) continue;
      NagSuppressions.addResourceSuppressionsByPath(stack, `/${root.node.path}/${id}/StateMachine/Role/DefaultPolicy/Resource`, [{ id: 'AwsSolutions-IAM5', reason, appliesTo }]);
      if (longRunner && prefix === 'Routine') {
        NagSuppressions.addResourceSuppressionsByPath(stack, `/${root.node.path}/${id}/StateMachine/Role/DefaultPolicy/Resource`, [
          {
            id: 'AwsSolutions-IAM5',
            reason: 'ecs:RunTask on the long runner task definition family, any revision (FAMILY:*): each deploy registers a new revision, which the routine must be able to start.',
            appliesTo: [{ regex: '/^Resource::arn:.*LongRunnerTaskDefinition.*:\\*$/g' }],
          },
        ]);
      }
    }
  }
  if (longRunner) {
    NagSuppressions.addResourceSuppressionsByPath(stack, `/${root.node.path}/LongRunner/TaskDefinition/Resource`, [
      { id: 'AwsSolutions-ECS2', reason: 'The environment holds no secret: the service name, and per run the task event and its time budget; credentials come from Secrets Manager at run time.' },
    ]);
    NagSuppressions.addResourceSuppressionsByPath(stack, `/${root.node.path}/LongRunner/TaskDefinition/ExecutionRole/DefaultPolicy/Resource`, [
      { id: 'AwsSolutions-IAM5', reason: 'ecr:GetAuthorizationToken, which the execution role needs to pull the image, supports no resource-level permission (AWS documents Resource "*").', appliesTo: ['Resource::*'] },
    ]);
  }
}
