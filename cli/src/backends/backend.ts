// A backend carries faults out: local processes, Kubernetes natively, or Chaos Mesh. Which faults
// it can carry out, and how, is each fault's own (faults/<name>/); this only looks them up.
import type { KubernetesDriver } from '../drivers/kubernetes/kubernetes-driver.js';
import type { LocalDriver } from '../drivers/local/local-driver.js';
import { UsageError } from '../errors.js';
import type { ExperimentSpec } from '../experiments/spec.js';
import type { BackendName, BackendOptions, Injection } from '../faults/fault.js';
import { backendsOf, faultNamed } from '../faults/registry.js';

export class Backend {
  constructor(
    readonly name: BackendName,
    private readonly driver: LocalDriver | KubernetesDriver,
    private readonly options: BackendOptions = {},
  ) {}

  /** The fault of `spec` as this backend carries it out; a UsageError naming the backends that can, if it cannot. */
  async injection(spec: ExperimentSpec): Promise<Injection> {
    const fault = faultNamed(spec.type);
    const implementation = fault.backends[this.name];
    if (!implementation)
      throw new UsageError(
        `the ${this.name} backend cannot carry out ${fault.name}; ${backendsOf(fault).join(', ')} can`,
      );
    const create = await implementation.load();
    return create(this.driver as never, spec, this.options);
  }
}
