/** A request refused as a whole (by the service or the dashboard): an HTTP status and a JSON error body. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
