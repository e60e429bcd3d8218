/** The guard key of an HTTP destination: its origin (`https://host:port`); paths share one receiver. */
export function httpDestinationKey(url: string): string {
  return new URL(url).origin;
}
