export default async function globalTeardown(): Promise<void> {
  await globalThis.__WEBRANA_POSTGRES__?.stop();
}
