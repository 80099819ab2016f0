// Faults in force, so that Ctrl-C, a timeout or an error removes them before chaosctl exits.
type Remover = () => Promise<void>;

const active = new Set<Remover>();

export function track(remove: Remover): () => Promise<void> {
  const once = async () => {
    if (!active.delete(once)) return;
    await remove();
  };
  active.add(once);
  return once;
}

export async function removeAll(): Promise<number> {
  const removers = [...active];
  await Promise.allSettled(removers.map((remove) => remove()));
  return removers.length;
}
