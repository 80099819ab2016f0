// network-delay on Kubernetes, native: one long-lived agent ephemeral container per target pod
// (root with NET_ADMIN only, in the pod's network namespace), driven through pods/exec. The agent
// puts a prio qdisc with a handle of our own at the root of eth0 and netem on one band; a u32
// filter sends only packets to the callers' pod IPs through it, so the kubelet's probes, DNS and
// the database are not delayed. The agent's watchdog deletes our qdisc when chaosctl stops renewing
// its lease, so a crashed chaosctl leaves no delay behind.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1EphemeralContainer, V1Pod } from '@kubernetes/client-node';
import { delayLanded, probeLatency } from '../../backends/probe-latency.js';
import { type Target, targetOf } from '../../drivers/driver.js';
import { ApiCallError } from '../../drivers/kubernetes/cluster.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { UnsupportedFaultError, UsageError } from '../../errors.js';
import type { BackendOptions, Injected, Injection, Verification } from '../fault.js';
import { callersOf, DEFAULT_AGENT_IMAGE, delayOf, type NetworkDelaySpec } from './spec.js';

const AGENT_PREFIX = 'chaosctl-netem';
// Our qdisc handles: the root prio and the netem on its third band.
const ROOT = '1a7e:';
const NETEM = '1a7f:';
const LEASE = '/tmp/chaosctl-lease';
const LEASE_TTL_S = 10;
const RENEW_MS = 2000;

/**
 * The agent: idles, and deletes our root qdisc when the lease is older than its TTL; exits after
 * 10 idle minutes, and at once on SIGTERM: as its container's PID 1, sh has no default action for
 * it, and the kubelet would wait the pod's whole grace period before killing it, holding up the
 * pod's deletion (seen on a real kubelet: a killed pod gone after 30 s instead of 5).
 */
const AGENT_SCRIPT = [
  `trap 'tc qdisc del dev eth0 root handle ${ROOT} 2>/dev/null; exit 0' TERM INT`,
  `last=$(date +%s)`,
  `while :; do`,
  `  now=$(date +%s)`,
  `  if tc qdisc show dev eth0 | grep -q "qdisc [a-z]* ${ROOT} root"; then`,
  `    last=$now`,
  `    if [ ! -f ${LEASE} ] || [ $((now - $(stat -c %Y ${LEASE}))) -gt ${LEASE_TTL_S} ]; then tc qdisc del dev eth0 root handle ${ROOT}; rm -f ${LEASE}; fi`,
  `  elif [ $((now - last)) -gt 600 ]; then exit 0; fi`,
  `  sleep 1`,
  `done`,
].join('\n');

function agentContainer(image: string, suffix = randomBytes(3).toString('hex')): V1EphemeralContainer {
  return {
    name: `${AGENT_PREFIX}-${suffix}`,
    image,
    command: ['sh', '-c', AGENT_SCRIPT],
    // Explicitly root: added capabilities are not effective for a non-root user, and the pod's
    // runAsUser (1000 in our chart) would otherwise be inherited.
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/** tc commands for the delay: scoped to the callers' IPs, or on every packet when there are none. */
function delayScript(latencyMs: number, jitterMs: number, callerIps: readonly string[]): string {
  const netem = `netem delay ${latencyMs}ms${jitterMs ? ` ${jitterMs}ms` : ''}`;
  if (callerIps.length === 0)
    return `tc qdisc replace dev eth0 root handle ${ROOT} ${netem} && touch ${LEASE}`;
  return [
    'set -e',
    `tc qdisc replace dev eth0 root handle ${ROOT} prio bands 3 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0`,
    `tc qdisc replace dev eth0 parent ${ROOT}3 handle ${NETEM} ${netem}`,
    ...callerIps.map(
      (ip) =>
        `tc filter add dev eth0 parent ${ROOT} protocol ip prio 1 u32 match ip dst ${ip}/32 flowid ${ROOT}3`,
    ),
    `touch ${LEASE}`,
  ].join('\n');
}

const CLEAR_SCRIPT = `tc qdisc del dev eth0 root handle ${ROOT} 2>/dev/null; rm -f ${LEASE}; true`;

// Whether the node's kernel has netem, asked of the kernel itself: a netem qdisc (no delay) added
// to the pod's loopback and removed at once. A kernel without sch_netem makes tc answer "Error:
// Specified qdisc kind is unknown." (iproute2 with the kernel's extended ack; older iproute2:
// "RTNETLINK answers: No such file or directory", the ENOENT of qdisc_lookup_ops failing).
const NETEM_PROBE =
  'tc qdisc add dev lo root handle 1a7d: netem delay 0ms && tc qdisc del dev lo root handle 1a7d:';
const NO_NETEM = /qdisc kind is unknown|No such file or directory/;

/** The packets our netem qdisc has seen, from `tc -s qdisc show`; undefined when it is not there. */
function netemPackets(output: string): number | undefined {
  const m = new RegExp(`qdisc netem (?:${NETEM}|${ROOT}) [^\\n]*\\n\\s*Sent \\d+ bytes (\\d+) pkt`).exec(
    output,
  );
  return m ? Number(m[1]) : undefined;
}

export const injection = (
  driver: KubernetesDriver,
  spec: NetworkDelaySpec,
  options: BackendOptions,
): Injection => new KubeNetworkDelay(driver, targetOf(spec), spec, options.agentImage);

class KubeNetworkDelay implements Injection {
  private agents: Array<{ pod: string; container: string }> = [];
  private renew: NodeJS.Timeout | undefined;
  private injected = false;
  private removed = false;
  private scoped = true;
  private baselineMs: number | undefined;

  constructor(
    private readonly driver: KubernetesDriver,
    private readonly target: Target,
    private readonly spec: NetworkDelaySpec,
    private readonly image = DEFAULT_AGENT_IMAGE,
  ) {}

  async plan(): Promise<string> {
    const { latencyMs, jitterMs } = delayOf(this.spec);
    return `an agent container (${this.image}, root with NET_ADMIN) in each ready pod matching ${this.driver.selector(this.target)} delays its packets to ${callersOf(this.spec).join(', ') || 'every peer'} by ${latencyMs} ms ± ${jitterMs} ms`;
  }

  /**
   * Refuses before any traffic when Pod Security or admission would refuse the agent, or when the
   * node's kernel has no netem (the experiment is then skipped, saying so).
   */
  async preflight(): Promise<string[]> {
    const { client } = this.driver;
    const namespace = client.namespace;
    const level = (await client.namespaceLabels())['pod-security.kubernetes.io/enforce'];
    if (level === 'baseline' || level === 'restricted') {
      throw new UsageError(
        `namespace ${namespace} enforces Pod Security "${level}", which refuses the network-delay agent (root with NET_ADMIN): label it privileged for the experiment (kubectl label namespace ${namespace} pod-security.kubernetes.io/enforce=privileged --overwrite) or install Chaos Mesh and use --backend chaos-mesh`,
      );
    }
    const [pod] = await this.driver.readyPods(this.target);
    if (!pod) throw new UsageError(`no ready ${this.target.service} pod`);
    if (!runningAgent(pod)) {
      try {
        await client.addEphemeralContainer(pod.metadata?.name ?? '', agentContainer(this.image), true);
      } catch (error) {
        throw new UsageError(
          `the API server would refuse the network-delay agent in pod ${pod.metadata?.name}: ${(error as Error).message}`,
        );
      }
    }
    const agent = await this.ensureAgent(pod);
    const netem = await client.exec(agent.pod, agent.container, ['sh', '-c', NETEM_PROBE], 10_000);
    if (netem.exitCode !== 0) {
      const said = (netem.stderr.trim() || netem.stdout.trim()).split('\n')[0] ?? '';
      if (NO_NETEM.test(said))
        throw new UnsupportedFaultError(
          `the kernel of node ${pod.spec?.nodeName ?? '(unknown)'} lacks sch_netem (tc in ${agent.pod}: "${said}"): the native backend cannot delay packets there`,
        );
      throw new UsageError(
        `the network-delay agent in ${agent.pod} cannot add a netem qdisc (exit ${netem.exitCode}): ${said}`,
      );
    }
    const named = callersOf(this.spec);
    if ((named.length > 0 || !this.driver.inCluster) && (await this.callerIps()).length === 0) {
      throw new UsageError(
        `no caller of ${this.target.service} runs in the cluster (${named.join(', ') || 'none named'}): traffic from --url (a port-forward enters the pod through lo) cannot be delayed or observed; run chaosctl as the chart's Job, or name its callers`,
      );
    }
    const { latencyMs, jitterMs } = delayOf(this.spec);
    const probe = pod.spec?.containers.find((c) => c.readinessProbe)?.readinessProbe;
    const timeoutMs = (probe?.timeoutSeconds ?? 1) * 1000;
    return [
      ...(named.length === 0
        ? [
            `no callers named: every packet ${this.target.service} sends is delayed, its probes' answers included (name callers to spare them)`,
          ]
        : []),
      ...(latencyMs + jitterMs >= timeoutMs / 2
        ? [
            `${latencyMs + jitterMs} ms is close to the readiness probe's ${timeoutMs} ms timeout: only callers are delayed when the kernel can filter by address; if it cannot, every packet is, and the probe would fail`,
          ]
        : []),
    ];
  }

  async inject(): Promise<Injected> {
    const { client } = this.driver;
    const { latencyMs, jitterMs } = delayOf(this.spec);
    if (this.driver.inCluster) this.baselineMs = await probeLatency(await this.driver.url(this.target));
    const callers = await this.callerIps();
    const pods = await this.driver.readyPods(this.target);
    this.agents = await Promise.all(pods.map((pod) => this.ensureAgent(pod)));
    this.injected = true;
    // Renew the lease while the fault is on; the agents remove the delay themselves if we stop.
    this.renew = setInterval(() => {
      for (const a of this.agents)
        void client.exec(a.pod, a.container, ['touch', LEASE], 5000).catch(() => {});
    }, RENEW_MS);
    for (const agent of this.agents) {
      let result = await client.exec(agent.pod, agent.container, [
        'sh',
        '-c',
        delayScript(latencyMs, jitterMs, callers),
      ]);
      if (result.exitCode !== 0 && callers.length > 0) {
        // The kernel lacks prio or u32: delay every packet rather than none, and say so.
        this.scoped = false;
        result = await client.exec(agent.pod, agent.container, [
          'sh',
          '-c',
          delayScript(latencyMs, jitterMs, []),
        ]);
      }
      if (result.exitCode !== 0)
        throw new Error(
          `tc failed in ${agent.pod}/${agent.container} (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`,
        );
    }
    const scope = this.scoped
      ? `packets to ${callers.length} caller pod(s)`
      : 'every packet (the kernel could not filter by address)';
    return {
      summary: `${latencyMs} ms ± ${jitterMs} ms on ${scope} from ${this.agents.map((a) => a.pod).join(', ')}`,
    };
  }

  /** Our netem qdisc is in place on every pod and packets pass through it; in-cluster, callers also see the target slower. */
  async verify(): Promise<Verification> {
    const { client } = this.driver;
    const counts = async () =>
      Promise.all(
        this.agents.map(async (a) =>
          netemPackets(
            (await client.exec(a.pod, a.container, ['tc', '-s', 'qdisc', 'show', 'dev', 'eth0'])).stdout,
          ),
        ),
      );
    const first = await counts();
    await sleep(1000);
    const second = await counts();
    const missing = this.agents
      .filter((_, i) => first[i] === undefined || second[i] === undefined)
      .map((a) => a.pod);
    const delayed = second.reduce<number>((n, c, i) => n + ((c ?? 0) - (first[i] ?? 0)), 0);
    let evidence = missing.length
      ? `no netem qdisc of ours on ${missing.join(', ')}`
      : `netem on ${this.agents.length} pod(s) delayed ${delayed} packets in 1 s${this.scoped ? '' : ' (unscoped)'}`;
    let landed = missing.length === 0 && delayed > 0;
    if (landed && this.baselineMs !== undefined) {
      const { latencyMs } = delayOf(this.spec);
      const seen = delayLanded(
        this.baselineMs,
        await probeLatency(await this.driver.url(this.target)),
        latencyMs,
      );
      landed = seen.landed;
      evidence += `; from this pod ${this.target.service} answered ${seen.added} ms slower`;
    }
    return { landed, evidence };
  }

  async remove(): Promise<void> {
    if (this.removed || !this.injected) return;
    this.removed = true;
    clearInterval(this.renew);
    await Promise.allSettled(
      this.agents.map((a) => this.driver.client.exec(a.pod, a.container, ['sh', '-c', CLEAR_SCRIPT], 10_000)),
    );
  }

  /** Pod IPs of the callers, and of chaosctl's own pod when it runs in the cluster. */
  private async callerIps(): Promise<string[]> {
    const ips = new Set<string>();
    for (const caller of callersOf(this.spec)) {
      for (const pod of await this.driver.pods({ service: caller }))
        if (pod.status?.podIP) ips.add(pod.status.podIP);
    }
    if (this.driver.inCluster) {
      const self = await this.driver.client.pod(process.env.POD_NAME ?? hostname()).catch(() => undefined);
      if (self?.status?.podIP) ips.add(self.status.podIP);
    }
    return [...ips];
  }

  /** A running agent of ours in the pod, or a new one added and waited for until it runs. */
  private async ensureAgent(pod: V1Pod): Promise<{ pod: string; container: string }> {
    const name = pod.metadata?.name ?? '';
    const running = runningAgent(pod);
    if (running) return { pod: name, container: running };
    const container = agentContainer(this.image);
    try {
      await this.driver.client.addEphemeralContainer(name, container);
    } catch (error) {
      if (error instanceof ApiCallError && error.status === 409)
        return this.ensureAgent((await this.driver.client.pod(name)) ?? pod);
      throw error;
    }
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const now = await this.driver.client.pod(name);
      const status = now?.status?.ephemeralContainerStatuses?.find((s) => s.name === container.name);
      if (status?.state?.running) return { pod: name, container: container.name };
      const waiting = status?.state?.waiting;
      if (
        waiting &&
        /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainer/.test(waiting.reason ?? '')
      )
        throw new UsageError(
          `the network-delay agent cannot start in ${name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}; load ${this.image} into the cluster (kind load docker-image ${this.image}) or pass --netem-image`,
        );
      const ended = status?.state?.terminated;
      if (ended)
        throw new Error(
          `the network-delay agent in ${name} exited with ${ended.exitCode}${ended.message ? `: ${ended.message}` : ''}${ended.reason ? ` (${ended.reason})` : ''}`,
        );
      await sleep(250);
    }
    throw new Error(`the network-delay agent in ${name} was not running after 60 s`);
  }
}

function runningAgent(pod: V1Pod): string | undefined {
  return pod.status?.ephemeralContainerStatuses?.find(
    (s) => s.name.startsWith(AGENT_PREFIX) && s.state?.running,
  )?.name;
}
