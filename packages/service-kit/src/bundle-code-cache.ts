// The bundled service's loader (scripts/service-loader.mjs) keeps a V8 code cache of the bundle,
// taken once the service has started so that it holds every function the start compiled. It leaves
// this function on globalThis when the process should write one (none yet for this build, or V8
// rejected it); outside the bundle there is none.
export const SAVE_CODE_CACHE = Symbol.for('chaos-platform.save-code-cache');

/** Has the loader write its code cache, if it wants one. */
export function saveBundleCodeCache(): void {
  (globalThis as { [SAVE_CODE_CACHE]?: () => void })[SAVE_CODE_CACHE]?.();
}
