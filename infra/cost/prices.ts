// The price table `dbmaint cost` multiplies by: list prices of one region on one date, free tiers left out (a stack shares them with everything else in the account).

export interface PriceTable {
  /** When these were read from AWS's public price pages, and for which region. */
  readonly asOf: string;
  readonly region: string;
  /** USD per standard-resolution alarm and month, per metric it evaluates (a metric-math alarm pays for each). */
  readonly alarmMetricMonth: number;
  /** USD per dashboard and month. */
  readonly dashboardMonth: number;
  /** USD per custom metric and month, for the first 10,000; prorated by the hours in which it is published. */
  readonly customMetricMonth: number;
  readonly hoursPerMonth: number;
  /** USD per GB-second (Arm, as every task function runs) and per request. */
  readonly lambdaGbSecondArm: number;
  readonly lambdaRequest: number;
  /** USD per Step Functions Standard state transition. */
  readonly stateTransition: number;
  /** USD per EventBridge Scheduler invocation. */
  readonly schedulerInvocation: number;
  /** USD per GB of CloudWatch Logs ingested (standard class), and per GB-month stored (compressed size; not assumed smaller). */
  readonly logIngestGb: number;
  readonly logStorageGbMonth: number;
}

/** us-east-1, read on 2026-12-01. To update: change the figures and `asOf`; every estimate prints both. */
export const PRICES: PriceTable = {
  asOf: '2026-12-01',
  region: 'us-east-1',
  alarmMetricMonth: 0.1,
  dashboardMonth: 3,
  customMetricMonth: 0.3,
  hoursPerMonth: 730,
  lambdaGbSecondArm: 0.0000133334,
  lambdaRequest: 0.2 / 1_000_000,
  stateTransition: 0.025 / 1000,
  schedulerInvocation: 1 / 1_000_000,
  logIngestGb: 0.5,
  logStorageGbMonth: 0.03,
};
