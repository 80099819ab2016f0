// What chaosctl has set going (faults in force, traffic it sends), so that Ctrl-C, a timeout or an
// error stops each before chaosctl exits, and Ctrl-C can say what it stopped.
type Remover = () => Promise<void>;

const active = new Map<Remover, string>();

/** `what` completes "interrupted: ..." ("removed the network-delay ...", "stopped the traffic ..."). */
export function track(what: string, remove: Remover): () => Promise<void> {
  const once = async () => {
    if (!active.delete(once)) return;
    await remove();
  };
  active.set(once, what);
  return once;
}

/** Stops everything still tracked; resolves with what each was. */
export async function removeAll(): Promise<string[]> {
  // Latest first, as things are undone.
  const removers = [...active].reverse();
  await Promise.allSettled(removers.map(([remove]) => remove()));
  return removers.map(([, what]) => what);
}
