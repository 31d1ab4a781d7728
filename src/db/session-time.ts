/**
 * Every session reads and writes TIMESTAMP columns in UTC, whatever the server's or the client's
 * zone (with the driver's `timezone: 'Z'`): CURRENT_TIMESTAMP written by the server and dates
 * sent by the client mean the same instant, and `--since 1h` compares like with like.
 */
export const UTC_SESSION = "SET SESSION time_zone = '+00:00'";
