// The long runner: an ECS Fargate task running the rebuild tasks' code with a maintenance window's remaining time as its budget, in the targets' VPC, with its own role.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { esbuildOptions } from '../bundle-options';

export interface LongRunnerProps {
  readonly repoRoot: string;
  /** The validated configuration (the same file the functions bundle). */
  readonly configFile: string;
  readonly namePrefix: string;
  readonly vpc: ec2.IVpc;
  readonly subnets: readonly ec2.ISubnet[];
  readonly securityGroups: readonly ec2.ISecurityGroup[];
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The image's build context, staged at synth: the esbuild bundle of functions/long-runner.ts (the same options as the
 * functions'), the configuration and the Dockerfile. Synth stays offline; the image is built at deploy.
 */
function stageImage(repoRoot: string, configFile: string): string {
  const bundle = buildSync({ ...esbuildOptions(repoRoot, path.join(repoRoot, 'functions/long-runner.ts'), 'long-runner.cjs', { sourceMap: false }), write: false });
  const js = bundle.outputFiles[0]!.contents;
  const config = readFileSync(configFile);
  const hash = createHash('sha256').update(js).update(config).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'dbmaint-synth', `long-runner-${hash}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'long-runner.cjs'), js);
  writeFileSync(path.join(dir, 'dbmaint.config.json'), config);
  copyFileSync(path.join(repoRoot, 'infra/long-runner/Dockerfile'), path.join(dir, 'Dockerfile'));
  return dir;
}

export class LongRunner extends Construct {
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  /** What the container may do: read the targets' secrets (granted by the stack with the functions' policies), nothing else. */
  readonly taskRole: iam.Role;
  readonly subnets: readonly ec2.ISubnet[];
  readonly securityGroups: readonly ec2.ISecurityGroup[];

  constructor(scope: Construct, id: string, props: LongRunnerProps) {
    super(scope, id);
    this.subnets = props.subnets;
    this.securityGroups = props.securityGroups;
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, clusterName: `${props.namePrefix}-long-runner`, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': this.cluster.stack.account } } }),
      description: 'dbmaint long runner: reads the targets\' database secrets',
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: `${props.namePrefix}-long-runner`,
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: this.taskRole,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/ecs/${props.namePrefix}-long-runner`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.container = this.taskDefinition.addContainer('Runner', {
      containerName: 'runner',
      image: ecs.ContainerImage.fromAsset(stageImage(props.repoRoot, props.configFile), { platform: Platform.LINUX_ARM64 }),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'long-runner', logGroup }),
      // The state machine passes DBMAINT_EVENT and DBMAINT_BUDGET_SECONDS per run (container overrides).
      environment: { POWERTOOLS_SERVICE_NAME: 'dbmaint' },
      // pt-online-schema-change writes its credentials file under /tmp; nothing else is written.
      readonlyRootFilesystem: true,
    });
    this.taskDefinition.addVolume({ name: 'tmp' });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
  }
}
