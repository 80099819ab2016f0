// Debian's lighttpd with WebDAV as a local target in tests: the server none of ours is most like.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * lighttpd's configuration as a target: port and data directory from the environment the
 * supervisor gives it (portEnv PORT, env DATA_DIR: '{dataDir}'), the data directory served and
 * writable over WebDAV, a directory listing at / for the readiness probe, and each answer naming its
 * replica (POD_NAME) so a test sees who served it.
 */
export const LIGHTTPD_CONF = `server.modules = ("mod_webdav", "mod_dirlisting", "mod_setenv")
server.bind = "127.0.0.1"
server.port = env.PORT
server.document-root = env.DATA_DIR
server.upload-dirs = (env.DATA_DIR)
dir-listing.activate = "enable"
webdav.activate = "enable"
setenv.add-response-header = ("X-Replica" => env.POD_NAME)
`;

/** Fails with one line saying what to install when lighttpd is not on PATH. */
export function requireLighttpd(): void {
  const found = (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, 'lighttpd'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found)
    throw new Error('lighttpd is not on PATH: sudo apt-get install -y lighttpd lighttpd-mod-webdav');
}
