// A target's `run` in a v2 suite file: how the local driver runs it. Apart from schema.ts, which
// reaches the faults (and through them the local driver), so that the local driver can use it.
import { type Static, Type } from 'typebox';
import { Duration, Text } from '../experiments/fields.js';

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';
/** An absolute URL path. */
export const PATH = '^/\\S*$';

/** How the local driver runs a target: any command that serves HTTP on the port it is given. */
export const LocalRunSchema = Type.Object(
  {
    /**
     * argv; {port}, {replica} (the replica's name, <target>-<n>), {dataDir} (the target's, shared by its
     * replicas) and {url:<target>} (another target's front URL) are substituted in every element.
     */
    command: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 200 }),
    /** Working directory, relative to the suite file (default: the suite file's directory). */
    cwd: Type.Optional(Type.String({ minLength: 1 })),
    /** Environment of every replica, on top of PATH and HOME; values take the same placeholders. */
    env: Type.Optional(Type.Record(Type.String({ pattern: ENV_NAME }), Type.String())),
    /** The variable that carries the replica's port, when the command reads it from its environment. */
    portEnv: Type.Optional(Text(ENV_NAME, 'an environment variable name such as PORT')),
    /** Replicas, each restarted when it dies, behind one port (default 2). */
    replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    /** A replica is ready once GET on this path answers 2xx (default /). */
    readiness: Type.Optional(Text(PATH, 'a path such as /healthz')),
    /** How long a replica may take to become ready at start-up (default 60s). */
    startTimeout: Type.Optional(Duration({ nonZero: 'a replica needs time to start' })),
  },
  { additionalProperties: false },
);

export type LocalRun = Static<typeof LocalRunSchema>;
