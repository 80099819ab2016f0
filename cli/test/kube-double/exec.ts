// pods/exec over WebSocket, the channel protocol of k8s.io/apimachinery/pkg/util/httpstream/wsstream
// (conn.go) and the kubelet's remotecommand (k8s.io/kubelet/pkg/cri/streaming/remotecommand):
// - Subprotocols v5.channel.k8s.io (KEP-4006: adds the close signal, channel 255) down to
//   v4.channel.k8s.io; the server picks the first one it supports from the client's list.
// - Every binary frame starts with its channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error/status,
//   4 resize. v4+: channel 3 carries a metav1.Status JSON once the command ends: Success, or
//   Failure/NonZeroExitCode with details.causes [{reason: ExitCode, message: "<code>"}]
//   (remotecommand/httpstream.go writeStatus and exec.go), then the server closes.
// - Before the upgrade, the apiserver checks the pod and container (pkg/registry/core/pod/
//   strategy.go ExecLocation): unknown pod 404, unknown container 400 "container x is not valid
//   for pod y", completed pod 400; a container that is not running fails the upgrade
//   ("container not found"), as the kubelet answers.
// What a command does is the test's program; the double only models protocol and lifecycle.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { isTerminal } from './pods.js';
import { badRequest, notFound, type Status } from './status.js';
import type { KubeObject, Store } from './store.js';

export interface ExecContext {
  namespace: string;
  pod: KubeObject;
  container: string;
  argv: string[];
  stdout(data: string | Buffer): void;
  stderr(data: string | Buffer): void;
  /** Aborted when the client goes away or the pod stops. */
  signal: AbortSignal;
}

/** A scripted process: resolves with its exit code. */
export type ExecProgram = (context: ExecContext) => Promise<number> | number;

export interface ExecRule {
  namespace?: string;
  pod?: string | RegExp;
  container?: string;
  run: ExecProgram;
}

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;

export class ExecServer {
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  private readonly rules: ExecRule[] = [];
  private readonly sessions = new Set<AbortController>();

  constructor(private readonly store: Store) {}

  onExec(rule: ExecRule): void {
    this.rules.unshift(rule);
  }

  /** Validates the target, then upgrades; throws ApiError for a plain HTTP answer. */
  upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    namespace: string,
    name: string,
    query: URLSearchParams,
  ) {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) throw notFound({ group: '', resource: 'pods' }, name);
    const containers = [...(pod.spec.containers ?? []), ...(pod.spec.ephemeralContainers ?? [])];
    const container =
      query.get('container') ?? (pod.spec.containers.length === 1 ? pod.spec.containers[0].name : '');
    if (!container) {
      throw badRequest(
        `a container name must be specified for pod ${name}, choose one of: [${pod.spec.containers.map((c: KubeObject) => c.name).join(' ')}]`,
      );
    }
    if (!containers.some((c: KubeObject) => c.name === container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    }
    if (isTerminal(pod)) {
      throw badRequest(
        `cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`,
      );
    }
    const statuses = [
      ...(pod.status.containerStatuses ?? []),
      ...(pod.status.ephemeralContainerStatuses ?? []),
    ];
    if (!statuses.find((s: KubeObject) => s.name === container)?.state?.running) {
      throw badRequest(`unable to upgrade connection: container not found ("${container}")`);
    }
    const argv = query.getAll('command');
    // An exec without a command is refused with 400 before the upgrade: the apiserver
    // (pkg/registry/core/pod/rest/subresources.go ExecREST) proxies to the kubelet, which needs one.
    // Simplification: the double answers it itself; the layer that words it is not modelled.
    if (argv.length === 0) throw badRequest('you must specify at least 1 command');
    const rule = this.rules.find(
      (r) =>
        (!r.namespace || r.namespace === namespace) &&
        (!r.pod || (typeof r.pod === 'string' ? r.pod === name : r.pod.test(name))) &&
        (!r.container || r.container === container),
    );
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.run(ws, { namespace, pod, container, argv }, rule?.run),
    );
  }

  stop(): void {
    for (const session of this.sessions) session.abort();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  private run(
    ws: WebSocket,
    target: { namespace: string; pod: KubeObject; container: string; argv: string[] },
    program: ExecProgram | undefined,
  ): void {
    const abort = new AbortController();
    this.sessions.add(abort);
    ws.on('close', () => abort.abort());
    const send = (channel: number, data: string | Buffer) => {
      if (ws.readyState !== ws.OPEN || abort.signal.aborted) return;
      ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
    };
    const context: ExecContext = {
      ...target,
      stdout: (data) => send(STDOUT, data),
      stderr: (data) => send(STDERR, data),
      signal: abort.signal,
    };
    // Without a program, the binary does not exist in the image: the runtime's exec fails with
    // runc's error (opencontainers/runc libcontainer: "exec: ...: executable file not found in
    // $PATH"), prefixed "OCI runtime exec failed" by the CRI runtime, and exit code 126, the
    // POSIX shell's "found but cannot execute". Simplification: no program means no binary.
    const run: ExecProgram =
      program ??
      ((c) => {
        c.stderr(
          `OCI runtime exec failed: exec failed: unable to start container process: exec: "${c.argv[0]}": executable file not found in $PATH: unknown\r\n`,
        );
        return 126;
      });
    Promise.resolve()
      .then(() => run(context))
      .then(
        (code) => code,
        () => 1,
      )
      .then((code) => {
        this.sessions.delete(abort);
        if (abort.signal.aborted) return;
        const status: Omit<Status, 'kind' | 'apiVersion' | 'code'> =
          code === 0
            ? { metadata: {}, status: 'Success' }
            : {
                metadata: {},
                status: 'Failure',
                message: `command terminated with non-zero exit code: error executing command [${target.argv.join(' ')}], exit code ${code}`,
                reason: 'NonZeroExitCode',
                details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
              };
        send(STATUS, JSON.stringify(status));
        ws.close(1000);
      });
  }
}
