/** Stops the engine started by `globalSetup`. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.gavelTestEngineStop?.();
}
