/** A description of the machine the benchmark ran on, for its reports. */

import * as os from 'node:os';

import * as tf from '@tensorflow/tfjs';

/** CPU, memory, load and versions. */
export interface MachineDescription {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  /** 1, 5 and 15-minute load averages when the description was taken. */
  readonly loadAverage: readonly number[];
  readonly platform: string;
  readonly node: string;
  readonly tfjs: string;
}

/** Describes this machine now. */
export function describeMachine(): MachineDescription {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tf.version.tfjs,
  };
}

/** One line: "2 cores of <cpu>, 24 GiB, load 0.4 / 1.2 / 2.0, Node v20, tfjs 4.22.0". */
export function formatMachine(machine: MachineDescription): string {
  return (
    `${machine.cores} cores of ${machine.cpu}, ${machine.memoryGiB} GiB, load average ${machine.loadAverage.join(' / ')}, ` +
    `${machine.platform}, Node ${machine.node}, tfjs ${machine.tfjs}`
  );
}

/**
 * A warning when other processes already keep the CPUs busy (1-minute load average above a
 * quarter of the cores before the benchmark starts): timings will then be noisy. Null otherwise.
 */
export function loadWarning(machine: MachineDescription): string | null {
  const load = machine.loadAverage[0];
  if (!(load > machine.cores / 4)) return null;
  return `Note: the machine is already loaded (1-minute load average ${load} on ${machine.cores} cores): timings will be noisy and slower than on an idle machine.`;
}
