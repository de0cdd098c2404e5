// One maintenance task as a Lambda function: esbuild bundle with the config beside it, log group, async failure handling.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import path from 'node:path';
import type { TaskDefinition } from '../../lib/catalogue';
import { cdkBundling, type BundleSettings } from '../bundle-options';

export interface TaskFunctionProps {
  readonly task: TaskDefinition;
  readonly functionName: string;
  readonly repoRoot: string;
  /** Validated configuration written at synth time; copied into the bundle as dbmaint.config.json. */
  readonly configFile: string;
  readonly logRetention: logs.RetentionDays;
  readonly failureQueue: sqs.IQueue;
  /** Reserved concurrency (config fleet.reservedConcurrency); undefined: none, the account's unreserved pool. */
  readonly reservedConcurrentExecutions?: number | undefined;
  readonly vpc?: ec2.IVpc;
  readonly subnets?: ec2.ISubnet[];
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly environment?: Record<string, string>;
  /** From the config's `bundling`; default: no source maps. */
  readonly bundling?: BundleSettings;
}

export class TaskFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: TaskFunctionProps) {
    super(scope, id);
    const { task } = props;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention,
      // Deleted with the stack: a retained group under this fixed name would make the next deploy fail ("already exists").
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const configFile = props.configFile;
    const bundling = props.bundling ?? { sourceMap: false };
    this.function = new NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      description: `dbmaint ${task.id}: ${task.title}`,
      entry: path.join(props.repoRoot, task.handlerFile),
      handler: 'handler',
      projectRoot: props.repoRoot,
      depsLockFilePath: path.join(props.repoRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: task.memoryMb,
      timeout: Duration.seconds(task.timeoutSeconds),
      logGroup,
      // Scheduled runs are asynchronous: one retry (every task is safe to re-run: GET_LOCK guards,
      // keyset cursors resume), never older than an hour (a retry must not drift into business hours),
      // and whatever still fails lands in the failure queue with its error.
      retryAttempts: 1,
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(props.failureQueue),
      // One run per target at a time is enforced in the database; this caps fleet-wide concurrency.
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      ...(props.vpc
        ? { vpc: props.vpc, vpcSubnets: { subnets: props.subnets ?? [] }, securityGroups: props.securityGroups ?? [], allowPublicSubnet: false }
        : {}),
      environment: {
        // Node reads the maps only when told to; without maps the flag would only cost a lookup.
        ...(bundling.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        POWERTOOLS_SERVICE_NAME: 'dbmaint',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.CJS,
        // Target, minify, source maps, the bundled SDK, ES module entries and the Lambda-only aliases (infra/bundle-options.ts).
        ...cdkBundling(bundling),
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // Configuration travels in the code package: no 4 KB environment limit, no runtime fetch, no extra IAM.
          afterBundling: (_inputDir: string, outputDir: string) => [`cp "${configFile}" "${outputDir}/dbmaint.config.json"`],
        },
      },
    });
  }
}
